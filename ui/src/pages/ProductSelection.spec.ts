import { flushPromises, mount } from '@vue/test-utils';
import { createPinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { serve } from '../testing/fakes';
import ProductSelection from './ProductSelection.vue';

afterEach(() => vi.unstubAllGlobals());

describe('ProductSelection', () => {
  it('takes an amount from the keyboard and moves on with Enter', async () => {
    serve({ '/api/v1/products': [200, [{ id: 'prod_1', name: 'Coffee', price: '3.50', description: null, active: true, created_at: '', updated_at: '' }]], 'PUT /api/v1/display': [200, {}] });
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/');
    const page = mount(ProductSelection, { attachTo: document.body, global: { plugins: [createPinia(), router, createAppI18n('en')] } });
    await flushPromises();

    expect(page.text()).toContain('Coffee');
    for (const key of ['1', '2', '.', '5']) window.dispatchEvent(new KeyboardEvent('keydown', { key }));
    await flushPromises();
    expect(page.find('[data-testid=total]').text()).toBe('12.5');
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    await flushPromises();
    expect(router.currentRoute.value.path).toBe('/checkout');
    page.unmount();
  });

  it('picks a product instead of a typed amount', async () => {
    serve({ '/api/v1/products': [200, [{ id: 'prod_1', name: 'Coffee', price: '3.50', description: null, active: true, created_at: '', updated_at: '' }]], 'PUT /api/v1/display': [200, {}] });
    const router = createRouter({ history: createMemoryHistory(), routes });
    await router.push('/');
    const page = mount(ProductSelection, { global: { plugins: [createPinia(), router, createAppI18n('en')] } });
    await flushPromises();

    await page.find('.product').trigger('click');

    expect(page.find('[data-testid=total]').text()).toBe('3.50');
    expect(page.find('[data-testid=next]').attributes('disabled')).toBeUndefined();
  });
});
