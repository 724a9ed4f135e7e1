import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket, fakeSockets, payment, serve } from '../testing/fakes';
import { usePaymentStore } from './payment';

const id = payment().id;

beforeEach(() => {
  setActivePinia(createPinia());
  fakeSockets();
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('the payment store', () => {
  it('follows the payment socket and refetches on each status update', async () => {
    let status = 'pending';
    serve({ [`/api/v1/payments/${id}`]: () => [200, payment({ status: status as 'pending' })] });
    const store = usePaymentStore();
    await store.follow(id);
    const socket = FakeSocket.latest();
    expect(socket.url).toContain(`/ws/payments/${id}`);

    socket.push({ type: 'connection_ack', paymentId: id, payment: payment() });
    expect(store.link).toBe('live');
    status = 'confirming';
    socket.push({ type: 'payment_status_update', paymentId: id, data: { status: 'confirming' } });
    await vi.waitFor(() => expect(store.payment?.status).toBe('confirming'));
    socket.push({ type: 'ping' });
    expect(socket.sent).toContain(JSON.stringify({ type: 'pong' }));
  });

  it('polls while the socket is down and reconnects', async () => {
    vi.useFakeTimers();
    let status = 'pending';
    const calls = serve({ [`/api/v1/payments/${id}`]: () => [200, payment({ status: status as 'pending' })] });
    const store = usePaymentStore();
    await store.follow(id);
    FakeSocket.latest().drop();
    expect(store.link).toBe('polling');

    status = 'paid';
    await vi.advanceTimersByTimeAsync(3100);
    expect(store.payment?.status).toBe('paid');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(FakeSocket.all.length).toBeGreaterThanOrEqual(2); // reconnected
    store.stop();
  });

  it('shows the reason of a failed manual check and leaves the payment as it was', async () => {
    serve({
      [`/api/v1/payments/${id}`]: [200, payment()],
      [`POST /api/v1/payments/${id}/process`]: [422, { error: { code: 'amount_mismatch', message: 'different amount' } }],
    });
    const store = usePaymentStore();
    await store.follow(id);

    await store.check(`0x${'ab'.repeat(32)}`);

    expect(store.checkError).toBe('amount_mismatch');
    expect(store.payment?.status).toBe('pending');
  });
});
