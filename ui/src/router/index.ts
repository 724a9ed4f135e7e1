import { createRouter, createWebHashHistory } from 'vue-router';
import HomePage from '../pages/HomePage.vue';
import StartupErrorPage from '../pages/StartupErrorPage.vue';

// Hash history: works from the Tauri asset protocol and from any static file server alike.
export const routes = [
  { path: '/', name: 'home', component: HomePage },
  { path: '/startup-error', name: 'startup-error', component: StartupErrorPage },
];

export function createAppRouter() {
  return createRouter({ history: createWebHashHistory(), routes });
}
