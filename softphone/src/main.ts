import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { i18n } from './i18n';
import { startEarly } from './stores/account';
import './styles/main.css';

// The gateway's client configuration (and, for automatic sign-in, the SIP
// WebSocket) are asked for before Vue even mounts.
startEarly();
createApp(App).use(createPinia()).use(i18n).mount('#app');
