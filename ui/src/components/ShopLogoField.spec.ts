import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createAppI18n } from '../i18n';
import { serve } from '../testing/fakes';
import ShopLogoField from './ShopLogoField.vue';

afterEach(() => vi.unstubAllGlobals());

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function mountField(version: string | null, locale: 'en' | 'zh-CN' = 'en') {
  return mount(ShopLogoField, { props: { version }, global: { plugins: [createAppI18n(locale)] } });
}

async function choose(field: ReturnType<typeof mountField>, file: File) {
  const input = field.find('[data-testid=logo-file]');
  Object.defineProperty(input.element, 'files', { value: [file], configurable: true });
  await input.trigger('change');
  await flushPromises();
}

describe('ShopLogoField', () => {
  it('uploads the chosen image as it is and shows it from the public address at its new version', async () => {
    const calls = serve({
      'PUT /api/v1/settings/logo': [200, { content_type: 'image/png', size: 8, version: 'v2', updated_at: '2026-11-24T10:00:00Z' }],
    });
    const field = mountField(null);
    expect(field.find('[data-testid=logo-preview]').exists()).toBe(false);
    expect(field.find('[data-testid=logo-none]').text()).toContain("shop's name alone");

    await choose(field, new File([PNG], 'logo.png', { type: 'image/png' }));

    const put = calls.find((c) => c.init?.method === 'PUT');
    expect((put?.init?.headers as Record<string, string>)['Content-Type']).toBe('image/png');
    expect(put?.init?.body).toBeInstanceOf(File);
    expect(field.find('[data-testid=logo-preview]').attributes('src')).toBe('/api/v1/display/logo?v=v2');
    expect(field.find('[data-testid=logo-done]').text()).toContain('the customer display shows it now');
    expect(field.emitted('changed')).toEqual([['v2']]);
  });

  it('says in plain words, in English and in Chinese, why an image was refused', async () => {
    serve({ 'PUT /api/v1/settings/logo': [415, { error: { code: 'unsupported_image', message: 'a logo must be…' } }] });
    const field = mountField('v1');
    await choose(field, new File(['<svg/>'], 'logo.svg', { type: 'image/svg+xml' }));
    expect(field.find('[data-testid=logo-error]').text()).toBe('A logo must be a PNG, JPEG or WebP image (SVG is not accepted).');
    expect(field.find('[data-testid=logo-preview]').attributes('src')).toBe('/api/v1/display/logo?v=v1');

    serve({ 'PUT /api/v1/settings/logo': [413, { error: { code: 'image_too_large', message: 'too large' } }] });
    const zh = mountField(null, 'zh-CN');
    await choose(zh, new File([PNG], 'big.png', { type: 'image/png' }));
    expect(zh.find('[data-testid=logo-error]').text()).toBe('图片太大：店铺标志最大 512 KiB。');
  });

  it('removes the logo', async () => {
    const calls = serve({ 'DELETE /api/v1/settings/logo': [204, null] });
    const field = mountField('v1');
    await field.find('[data-testid=logo-remove]').trigger('click');
    await flushPromises();
    expect(calls.some((c) => c.init?.method === 'DELETE' && c.url === '/api/v1/settings/logo')).toBe(true);
    expect(field.find('[data-testid=logo-preview]').exists()).toBe(false);
    expect(field.find('[data-testid=logo-remove]').exists()).toBe(false);
    expect(field.emitted('changed')).toEqual([[null]]);
  });
});
