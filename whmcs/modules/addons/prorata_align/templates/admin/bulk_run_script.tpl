{* The run panel's script: puts the page at the run's own address, then polls the progress. *}{literal}(function () {
  var panel = document.getElementById('prorata-bulk-run');
  if (!panel) { return; }
  if (window.history && history.replaceState) { history.replaceState(null, '', panel.getAttribute('data-here')); }
  if (!panel.getAttribute('data-poll')) { return; }
  var poll = panel.getAttribute('data-poll');
  function set(selector, text) {
    var node = panel.querySelector(selector);
    if (node) { node.textContent = String(text); }
  }
  function show(run, failures) {
    panel.setAttribute('data-state', run.state);
    set('.prorata-bulk-state', run.state_label);
    set('.prorata-bulk-percent', run.percent + ' %');
    set('[data-count="handled"]', run.handled);
    set('[data-count="total"]', run.total);
    panel.querySelector('.prorata-bulk-progress').setAttribute('aria-valuenow', run.percent);
    Object.keys(run.counts).forEach(function (key) {
      set('td[data-count="' + key + '"]', run.counts[key]);
      var bar = panel.querySelector('.prorata-bar-' + key);
      if (bar) { bar.style.width = run.widths[key] + '%'; }
    });
    var table = panel.querySelector('#prorata-bulk-failures');
    var body = table.querySelector('tbody');
    body.textContent = '';
    failures.forEach(function (failure) {
      var row = body.insertRow(-1);
      row.setAttribute('data-client', failure.client_id);
      var link = document.createElement('a');
      link.href = failure.url;
      link.textContent = failure.name;
      row.insertCell(-1).appendChild(link);
      row.insertCell(-1).textContent = failure.reason;
    });
    table.style.display = failures.length ? '' : 'none';
    panel.querySelector('.prorata-bulk-no-failures').style.display = failures.length ? 'none' : '';
  }
  function tick() {
    fetch(poll, {credentials: 'same-origin', headers: {'Accept': 'application/json'}})
      .then(function (answer) { return answer.json(); })
      .then(function (data) {
        if (data.run) {
          show(data.run, data.failures || []);
          // the recent runs follow the run too (same answer, same tick)
          var runs = document.getElementById('prorata-bulk-runs');
          if (runs && typeof data.runs_html === 'string') { runs.outerHTML = data.runs_html; }
          if (data.run.final) { window.location.replace(data.run.url); return; }
        }
        window.setTimeout(tick, {/literal}{$poll_ms}{literal});
      })
      .catch(function () { window.setTimeout(tick, 3 * {/literal}{$poll_ms}{literal}); });
  }
  window.setTimeout(tick, {/literal}{$poll_ms}{literal});
})();{/literal}