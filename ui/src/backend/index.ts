// The one place the UI talks to the outside: the embedded StablePay server over HTTP and WebSocket,
// and the desktop shell over IPC. This folder is the only one that calls fetch, opens a WebSocket or
// imports @tauri-apps/*; pages, stores and components import from this file only. Same-origin by
// default, so the same build works in the Tauri window, in a browser on the LAN and under
// Playwright; VITE_API_BASE points a dev build elsewhere. Merchant calls carry a key: in the desktop
// app the window's own session key (handed over IPC, kept in memory only), elsewhere the API key
// saved in this browser (Settings), when there is one. The customer display trusts only socket
// messages signed by the server's key (./signing.ts).
//
// Where things live: ./types.ts (types), ./errors.ts (ApiError), ./http.ts (request, keys),
// ./api.ts (the REST calls), ./live.ts (sockets), ./desktop.ts (Tauri).
export { ApiError } from './errors';
export { apiKey, displayToken, setApiKey, setDisplayToken } from './http';
export * from './api';
export * from './live';
export { attachToHub, detachFromHub, getShellSettings, isDesktop, listMonitors, openCustomerDisplay, rememberSaleChoice, saveShellSettings } from './desktop';
export type * from './types';
