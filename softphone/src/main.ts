import { createApp } from 'vue';
import { createPinia } from 'pinia';
import App from './App.vue';
import { i18n } from './i18n';
import { startEarly } from './stores/account';
import { startEarlyAgentSignIn } from './stores/agent';
import './styles/main.css';

// The gateway's client configuration (and, for automatic sign-in, the SIP
// WebSocket and a known agent's Digest challenge) are asked for before Vue
// even mounts.
startEarly();
startEarlyAgentSignIn();
createApp(App).use(createPinia()).use(i18n).mount('#app');
