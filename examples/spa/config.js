// Where the session-bridge API lives. A `?api=` query parameter wins over
// this; null means "this page's host name, port 3000" (so a page opened as
// http://localhost:4200 talks to http://localhost:3000).
window.SPA_CONFIG = {
  api: null,
};
