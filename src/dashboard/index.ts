export { loadDashboardAssets, DASHBOARD_PREFIX } from './assets.js';
