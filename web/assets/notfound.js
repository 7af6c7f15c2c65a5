// The 404 page: header and translated text only.
import { renderHeader } from './app.js';
import { translateDom } from './i18n-dom.js';

translateDom();
renderHeader();
