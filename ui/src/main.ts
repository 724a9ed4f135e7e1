import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { createAppI18n, initialLocale } from './i18n';
import { createAppRouter } from './router';

createApp(App).use(createPinia()).use(createAppRouter()).use(createAppI18n(initialLocale())).mount('#app');
