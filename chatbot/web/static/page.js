// The page as a whole (js_on_load of the transcript): the page language, a live region that
// announces new answers, and the address bar (?q=…&v=…) so that Back stays in the app and a
// link reproduces the answer.
if (!window.__chatbotPage) {
  window.__chatbotPage = true;
  const root = document.documentElement;
  const keepLang = () => { if (root.getAttribute('lang') !== 'nb') root.setAttribute('lang', 'nb'); };
  keepLang();
  new MutationObserver(keepLang).observe(root, {attributes: true, attributeFilter: ['lang']});
  const live = document.createElement('div');
  live.id = 'chatbot-live'; live.className = 'sr-only';
  live.setAttribute('aria-live', 'polite'); live.setAttribute('aria-atomic', 'true');
  document.body.appendChild(live);
  window.addEventListener('popstate', () => {
    const params = new URLSearchParams(location.search);
    const source = params.get('source');
    if (source) {
      window.__chatbotFromPop = true;
      trigger('click', {cite_source: source, cite_start: params.get('start') ? Number(params.get('start')) : null,
                        cite_end: params.get('end') ? Number(params.get('end')) : null});
      return;
    }
    trigger('click', {action: 'back', tab: window.__chatbotReturnTab || 'samtale'});
    const q = params.get('q');
    if (q !== null) {
      const turn = Array.from(document.querySelectorAll('#transcript .turn')).reverse().find((t) => t.dataset.q === q);
      if (turn) setTimeout(() => turn.scrollIntoView({block: 'start'}), 120);
    }
  });
}
window.__chatbotVersion = () => {
  const t = document.querySelector('#transcript .transcript');
  return t ? (t.dataset.version || '') : '';
};
const syncTranscript = (initial) => {
  const turns = element.querySelectorAll('.turn');
  const last = turns.length ? turns[turns.length - 1] : null;
  const live = document.getElementById('chatbot-live');
  if (!initial && last && live && last.dataset.announce && last !== window.__chatbotAnnounced) {
    window.__chatbotAnnounced = last;
    live.textContent = '';
    setTimeout(() => { live.textContent = last.dataset.announce; }, 50);
  }
  if (initial || (last && last.dataset.q === undefined)) return;  // compare turns keep the address
  window.__chatbotQ = last ? (last.dataset.q || '') : '';
  const want = new URLSearchParams();
  if (last && last.dataset.q) want.set('q', last.dataset.q);
  const version = window.__chatbotVersion();
  if (version) want.set('v', version);
  const target = want.toString() ? '?' + want.toString() : location.pathname;
  const now = new URLSearchParams(location.search);
  if (!now.get('source') && (now.get('q') || '') === (want.get('q') || '')) {
    history.replaceState({chatbot: 'chat'}, '', target);
  } else {
    history.pushState({chatbot: 'chat'}, '', target);
  }
};
watch('value', () => syncTranscript(false));
