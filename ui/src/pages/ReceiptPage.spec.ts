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
  transaction_hash: '0xabc', explorer_link: 'https://bscscan.com/tx/0xabc', footer: 'Thank you!', printer: true, refunds: [] as object[],
};

const REFUND = {
  id: 'rfd_fedcba9876543210fedcba9876543210', amount: '1.00 USDT', fiat_amount: '7.10 CNY', to: '0x1111111111111111111111111111111111111111',
  confirmed_at: '2026-12-01T11:00:00Z', transaction_hash: '0xdef', explorer_link: 'https://bscscan.com/tx/0xdef', reason: 'Cold coffee',
};

async function mountReceipt(path = `/pay/${ID}/receipt`, locale: 'en' | 'zh-CN' = 'en') {
  const router = createRouter({ history: createMemoryHistory(), routes });
  await router.push(path);
  const page = mount(ReceiptPage, { global: { plugins: [router, createAppI18n(locale)] } });
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

  it('lists the confirmed refunds under the sale, each with its slip', async () => {
    serve({ [`/api/v1/payments/${ID}/receipt`]: [200, { ...receipt, refunds: [REFUND] }] });
    const page = await mountReceipt();
    const row = page.get(`[data-testid=receipt-refunds] [data-refund=${REFUND.id}]`);
    expect(row.text()).toContain('−1.00 USDT');
    expect(row.text()).toContain('−7.10 CNY');
    expect(row.text()).toContain('0xdef');
    expect(row.get('a').attributes('href')).toBe(`/pay/${ID}/receipt?refund=${REFUND.id}`);
    expect(page.find('[data-testid=refund-slip]').exists()).toBe(false);
  });

  it('lists no refunds for a sale without any', async () => {
    serve({ [`/api/v1/payments/${ID}/receipt`]: [200, receipt] });
    const page = await mountReceipt();
    expect(page.find('[data-testid=receipt-refunds]').exists()).toBe(false);
  });

  it("prints a refund's own slip: the sale, both amounts, to whom, the transaction and its QR code, the reason", async () => {
    serve({ [`/api/v1/payments/${ID}/receipt`]: [200, { ...receipt, refunds: [REFUND] }] });
    const page = await mountReceipt(`/pay/${ID}/receipt?refund=${REFUND.id}`, 'zh-CN');
    expect(page.find('[data-testid=receipt]').exists()).toBe(false);
    const slip = page.get('[data-testid=refund-slip]');
    expect(slip.text()).toContain('Corner Café');
    expect(slip.text()).toContain('1 Harbour Road');
    expect(slip.get('h3').text()).toBe('退款');
    expect(slip.get('[data-testid=refund-slip-sale]').text()).toBe(ID);
    expect(slip.get('[data-testid=refund-slip-amount]').text()).toBe('1.00 USDT');
    expect(slip.get('[data-testid=refund-slip-fiat]').text()).toBe('7.10 CNY');
    expect(slip.get('[data-testid=refund-slip-to]').text()).toBe(REFUND.to);
    expect(slip.get('[data-testid=refund-slip-tx]').text()).toBe('0xdef');
    expect(slip.get('[data-testid=refund-slip-reason]').text()).toContain('Cold coffee');
    expect(slip.get('img.qr').attributes('data-qr-text')).toBe('https://bscscan.com/tx/0xdef');
    // The receipt printer prints the sale's receipt, not this slip.
    expect(page.find('[data-testid=receipt-printer]').exists()).toBe(false);
  });

  it('says so when the slip asked for is not among the confirmed refunds', async () => {
    serve({ [`/api/v1/payments/${ID}/receipt`]: [200, receipt] });
    const page = await mountReceipt(`/pay/${ID}/receipt?refund=rfd_00000000000000000000000000000000`);
    expect(page.get('[data-testid=refund-slip-missing]').text()).toBe('No such refund.');
    expect(page.find('[data-testid=refund-slip]').exists()).toBe(false);
    expect(page.find('[data-testid=receipt]').exists()).toBe(false);
  });
});
