import { flushPromises, mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryHistory, createRouter } from 'vue-router';
import { createAppI18n } from '../i18n';
import { routes } from '../router';
import { serve } from '../testing/fakes';
import ReceiptPage from './ReceiptPage.vue';

afterEach(() => vi.unstubAllGlobals());

const ID = 'pay_0123456789abcdef0123456789abcdef';
const receipt = {
  shop_name: 'Corner Café', shop_address: ['1 Harbour Road'], payment_id: ID,
  lines: [{ label: 'Flat white', amount: '35.50 CNY' }], fiat_total: '35.50 CNY', token_total: '5.00 USDT',
  rate: '1 USDT = 7.1 CNY (fixed)', network: 'BNB Smart Chain', paid_at: '2026-12-01T10:00:00Z',
  transaction_hash: '0xabc', explorer_link: 'https://bscscan.com/tx/0xabc', footer: 'Thank you!', printer: true,
};

async function mountReceipt() {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(`/pay/${ID}/receipt`);
  const page = mount(ReceiptPage, { global: { plugins: [router, createAppI18n('en')] } });
  await flushPromises();
  return page;
}

describe('ReceiptPage', () => {
  it('lays out the receipt with both amounts, the rate, the transaction and its QR code', async () => {
    serve({ [`/api/v1/payments/${ID}/receipt`]: [200, receipt] });
    const page = await mountReceipt();
    expect(page.get('[data-testid=receipt]').text()).toContain('Corner Café');
    expect(page.get('[data-testid=receipt-fiat]').text()).toBe('35.50 CNY');
    expect(page.get('[data-testid=receipt-token]').text()).toBe('5.00 USDT');
    expect(page.get('[data-testid=receipt-rate]').text()).toContain('7.1 CNY');
    expect(page.get('img.qr').attributes('data-qr-text')).toBe('https://bscscan.com/tx/0xabc');
  });

  it('sends it to the receipt printer and says where, or says why not', async () => {
    serve({
      [`/api/v1/payments/${ID}/receipt`]: [200, receipt],
      [`POST /api/v1/payments/${ID}/receipt/print`]: [409, { error: { code: 'printer_unreachable', message: 'the receipt printer 10.0.0.9:9100 cannot be reached' } }],
    });
    const page = await mountReceipt();
    await page.get('[data-testid=receipt-printer]').trigger('click');
    await flushPromises();
    expect(page.get('[role=alert]').text()).toContain('cannot be reached');
  });
});
