// Clicks inside the transcript, the documents table and the quote check's result (js_on_load of a
// gr.HTML: `element` and `trigger` are given). "Kopier" copies quote and citation; a plain click
// on a citation opens the source in the page; modifier-clicks keep the link's own behaviour.
element.addEventListener('click', (ev) => {
  const copy = ev.target.closest('button[data-copy]');
  if (copy) {
    ev.preventDefault();
    const label = copy.dataset.label || copy.textContent;
    copy.dataset.label = label;
    const done = () => { copy.textContent = copy.dataset.done || 'Kopiert';
                         setTimeout(() => { copy.textContent = label; }, 1500); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(copy.dataset.copy).then(done, () => {});
    } else {
      const area = document.createElement('textarea');
      area.value = copy.dataset.copy; document.body.appendChild(area); area.select();
      try { document.execCommand('copy'); done(); } catch (e) {} area.remove();
    }
    return;
  }
  const link = ev.target.closest('a[data-source]');
  if (!link || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.altKey) return;
  ev.preventDefault();
  if (link.classList.contains('citation')) {
    const box = link.closest('#transcript, #qc-result');
    window.__chatbotReturn = link;
    window.__chatbotReturnTab = box && box.id === 'qc-result' ? 'sjekk' : 'samtale';
    window.__chatbotReturnIndex = box ? Array.from(box.querySelectorAll('a.citation')).indexOf(link) : -1;
    window.__chatbotReturnBox = box ? box.id : null;
  }
  trigger('click', {cite_source: link.dataset.source,
                    cite_start: link.dataset.start ? Number(link.dataset.start) : null,
                    cite_end: link.dataset.end ? Number(link.dataset.end) : null});
});
