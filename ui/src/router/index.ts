import { createRouter, createWebHashHistory } from 'vue-router';
import CheckoutPage from '../pages/CheckoutPage.vue';
import ClosePage from '../pages/ClosePage.vue';
import DisplayPage from '../pages/DisplayPage.vue';
import HistoryPage from '../pages/HistoryPage.vue';
import MonitoringDashboard from '../pages/MonitoringDashboard.vue';
import PaymentPage from '../pages/PaymentPage.vue';
import PaymentSuccess from '../pages/PaymentSuccess.vue';
import ProductSelection from '../pages/ProductSelection.vue';
import ProductsPage from '../pages/ProductsPage.vue';
import ReceiptPage from '../pages/ReceiptPage.vue';
import RefundPage from '../pages/RefundPage.vue';
import QrPaymentPage from '../pages/QrPaymentPage.vue';
import SettingsPage from '../pages/SettingsPage.vue';
import SetupPage from '../pages/SetupPage.vue';
import StartupErrorPage from '../pages/StartupErrorPage.vue';
import TransfersPage from '../pages/TransfersPage.vue';

// Hash history: works from the Tauri asset protocol and from any static file server alike.
// `bare` pages (the customer display, the start-up error) show no navigation.
export const routes = [
  { path: '/', name: 'checkout', component: ProductSelection },
  { path: '/checkout', name: 'payment', component: PaymentPage },
  { path: '/pay/:id', name: 'qr', component: QrPaymentPage },
  { path: '/pay/:id/success', name: 'success', component: PaymentSuccess },
  { path: '/pay/:id/receipt', name: 'receipt', component: ReceiptPage },
  { path: '/pay/:id/refund', name: 'refund', component: RefundPage },
  { path: '/display', name: 'display', component: DisplayPage, meta: { bare: true } },
  { path: '/checkout/:id', name: 'hosted-checkout', component: CheckoutPage, meta: { bare: true } },
  { path: '/history', name: 'history', component: HistoryPage },
  { path: '/close', name: 'close', component: ClosePage },
  { path: '/transfers', name: 'transfers', component: TransfersPage },
  { path: '/monitoring', name: 'monitoring', component: MonitoringDashboard },
  { path: '/products', name: 'products', component: ProductsPage },
  { path: '/settings', name: 'settings', component: SettingsPage },
  { path: '/setup', name: 'setup', component: SetupPage },
  { path: '/startup-error', name: 'startup-error', component: StartupErrorPage, meta: { bare: true } },
  { path: '/:rest(.*)*', redirect: '/' },
];

/** Set before the desktop app restarts in the middle of the first-run setup: it reopens the setup. */
export const SETUP_RESUME = 'stablepay.setup.resume';

export function createAppRouter() {
  return createRouter({ history: createWebHashHistory(), routes });
}
