// The source view (js_on_load): scroll the marked passage into view and move the focus to it,
// put the opened source into the address bar (?source=…&start=…&end=…&v=…), and go back.
const focusMark = (tries) => {
  const view = element.querySelector('.source-view');
  if (!view) return;
  if (view.offsetParent === null) {  // the tab is not showing yet: try again shortly
    if (tries > 0) setTimeout(() => focusMark(tries - 1), 60);
    return;
  }
  const mark = element.querySelector('mark.cited');
  const box = element.querySelector('.src-text');
  if (mark && box) {
    box.scrollTop += mark.getBoundingClientRect().top - box.getBoundingClientRect().top - box.clientHeight / 4;
    view.scrollIntoView({block: 'start'});
    mark.focus({preventScroll: true});
  } else if (view.dataset.opened === '1' && box) {
    view.scrollIntoView({block: 'start'});
    box.focus({preventScroll: true});
  }
};
const remember = () => {
  const view = element.querySelector('.source-view');
  if (!view || view.dataset.opened !== '1') return;
  const want = new URLSearchParams();
  want.set('source', view.dataset.source);
  if (view.dataset.start !== undefined) { want.set('start', view.dataset.start); want.set('end', view.dataset.end); }
  const version = window.__chatbotVersion ? window.__chatbotVersion() : '';
  if (version) want.set('v', version);
  const now = new URLSearchParams(location.search);
  const same = ['source', 'start', 'end'].every((k) => (now.get(k) || '') === (want.get(k) || ''));
  if (window.__chatbotFromPop || same) {
    window.__chatbotFromPop = false;
    history.replaceState(Object.assign({}, history.state || {}, {chatbot: 'source'}), '', '?' + want.toString());
  } else {
    history.pushState({chatbot: 'source', fromApp: true}, '', '?' + want.toString());
  }
};
// (the tab's content is first drawn when the tab first shows: with the source already in it)
setTimeout(() => { remember(); const v = element.querySelector('.source-view');
                   if (v && (v.dataset.start !== undefined || v.dataset.opened === '1')) focusMark(20); }, 80);
watch('value', () => { remember(); setTimeout(() => focusMark(30), 40); });
element.addEventListener('click', (ev) => {
  const back = ev.target.closest('a[data-action="back"]');
  if (!back || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  if (history.state && history.state.chatbot === 'source' && history.state.fromApp) {
    history.back();  // the popstate handler (page.js) switches back to the chat
    return;
  }
  trigger('click', {action: 'back', tab: window.__chatbotReturnTab || 'samtale'});
  const want = new URLSearchParams();
  if (window.__chatbotQ) want.set('q', window.__chatbotQ);
  const version = window.__chatbotVersion ? window.__chatbotVersion() : '';
  if (version) want.set('v', version);
  history.pushState({chatbot: 'chat'}, '', want.toString() ? '?' + want.toString() : location.pathname);
});
