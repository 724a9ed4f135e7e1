import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket, fakeSockets, serve } from '../testing/fakes';
import { followDisplay, type LinkState } from './index';
import { keepSocket, retryDelay } from './socket';

beforeEach(() => {
  vi.useFakeTimers();
  fakeSockets();
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

function kept() {
  const states: LinkState[] = [];
  const messages: unknown[] = [];
  let attempts = 0;
  const link = keepSocket({
    url: async () => `ws://till.local/ws/test?attempt=${++attempts}`,
    waiting: 'polling',
    state: (s) => states.push(s),
    message: (_text, parsed) => messages.push(parsed),
  });
  return { link, states, messages };
}

/** Advances the clock until the next socket opens; answers how long that took. */
async function untilNextSocket(limit = 60_000): Promise<number> {
  const before = FakeSocket.all.length;
  let waited = 0;
  while (FakeSocket.all.length === before) {
    if (waited >= limit) throw new Error(`no socket opened within ${limit} ms`);
    await vi.advanceTimersByTimeAsync(100);
    waited += 100;
  }
  return waited;
}

describe('the kept socket', () => {
  it('connects again at once when the cashier asks, without waiting for the back-off', async () => {
    const { link, states } = kept();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 4; i += 1) {
      FakeSocket.latest().drop();
      await untilNextSocket();
    }
    FakeSocket.latest().drop(); // the next attempt would now wait 8 s
    const before = FakeSocket.all.length;
    link.reconnect();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all.length).toBe(before + 1);
    expect(states.at(-1)).toBe('connecting');
    link.close();
  });

  it('waits 500 ms before the first reconnect, doubles each time, stops at 10 s, and starts over once a connection speaks', async () => {
    const { link } = kept();
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.all).toHaveLength(1);

    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      FakeSocket.latest().drop();
      waits.push(await untilNextSocket());
    }
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect([1, 2, 3, 4, 5, 6, 7].map(retryDelay)).toEqual(waits);

    FakeSocket.latest().pushRaw(JSON.stringify({ type: 'connection_ack' }));
    FakeSocket.latest().drop();
    expect(await untilNextSocket()).toBe(500);
    link.close();
  });

  it('closes a socket that has heard nothing for 75 s and opens a new one', async () => {
    const { link, states } = kept();
    await vi.advanceTimersByTimeAsync(0);
    const first = FakeSocket.latest();
    first.pushRaw(JSON.stringify({ type: 'connection_ack' }));
    expect(states.at(-1)).toBe('live');

    await vi.advanceTimersByTimeAsync(74_999);
    expect(first.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(first.closed).toBe(true);
    expect(states.at(-1)).toBe('polling');

    expect(await untilNextSocket()).toBe(500);
    expect(FakeSocket.latest()).not.toBe(first);
    expect(FakeSocket.latest().url).toContain('attempt=2');
    link.close();
  });

  it('keeps a socket the server pings every 30 s', async () => {
    const { link } = kept();
    await vi.advanceTimersByTimeAsync(0);
    const socket = FakeSocket.latest();

    for (let i = 0; i < 4; i++) {
      await vi.advanceTimersByTimeAsync(30_000);
      socket.pushRaw(JSON.stringify({ type: 'ping' }));
    }

    expect(socket.closed).toBe(false);
    expect(FakeSocket.all).toHaveLength(1);
    link.close();
  });

  it('answers a ping with a pong and still hands the ping on', async () => {
    const { link, messages } = kept();
    await vi.advanceTimersByTimeAsync(0);

    FakeSocket.latest().pushRaw(JSON.stringify({ type: 'ping' }));

    expect(FakeSocket.latest().sent).toEqual([JSON.stringify({ type: 'pong' })]);
    expect(messages).toEqual([{ type: 'ping' }]);
    link.close();
  });

  it('stops reconnecting once closed', async () => {
    const { link, states } = kept();
    await vi.advanceTimersByTimeAsync(0);
    const socket = FakeSocket.latest();

    link.close();
    socket.drop();
    await vi.advanceTimersByTimeAsync(120_000);

    expect(socket.closed).toBe(true);
    expect(FakeSocket.all).toHaveLength(1);
    expect(states.at(-1)).toBe('closed');
  });
});

describe('the display link', () => {
  it('reconnects with a fresh ticket, says connecting meanwhile, and never polls the unsigned display state', async () => {
    let tickets = 0;
    const calls = serve({ 'POST /api/v1/socket-tickets': () => [201, { ticket: `t-${++tickets}`, expires_in: 60 }] });
    const states: LinkState[] = [];
    const live = followDisplay(
      () => {},
      (s) => states.push(s),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(FakeSocket.latest().url).toContain('ticket=t-1');

    FakeSocket.latest().drop();
    expect(states.at(-1)).toBe('connecting');
    await vi.advanceTimersByTimeAsync(30_000);

    expect(FakeSocket.latest().url).toContain('ticket=t-2');
    expect(calls.some((c) => c.url.endsWith('/api/v1/display'))).toBe(false);
    live.close();
  });
});
