// The visualizer page: draws the document the manager pushes on /api/events (server-sent
// events, one `state` event per change) and redraws on each one. It never polls and never
// writes. Text goes in through textContent only, so no name or image can inject markup.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const view = { doc: null, received: 0, filter: decodeURIComponent(location.hash.replace(/^#service=/, '')) };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // The manager's clock now, so ages do not depend on the browser's clock.
  const serverNow = () => view.doc.now_ms + (Date.now() - view.received);

  function age(ms) {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm';
    if (s < 86400) return Math.floor(s / 3600) + 'h';
    return Math.floor(s / 86400) + 'd';
  }

  function cpus(nano) {
    return nano > 0 ? (nano / 1e9).toFixed(nano % 1e9 ? 1 : 0) + ' CPU' : null;
  }

  function memory(bytes) {
    if (!(bytes > 0)) return null;
    const gib = bytes / 2 ** 30;
    return gib >= 1 ? gib.toFixed(1) + ' GiB' : Math.round(bytes / 2 ** 20) + ' MiB';
  }

  function fact(text, cls) {
    return text ? el('span', 'fact' + (cls ? ' ' + cls : ''), text) : null;
  }

  function nodeHead(node) {
    const head = el('div', 'node-head');
    const h = el('h2');
    if (node.leader) {
      const star = el('span', 'leader', '★');
      star.title = 'Raft leader';
      h.append(star);
    }
    h.append(el('span', 'hostname', node.hostname || node.id.slice(0, 12)));
    head.append(h);
    const facts = el('div', 'facts');
    const status = node.status === 'Ready' && node.engine_error ? 'Ready (no engine)' : node.status;
    const noEngine = fact(node.engine_error ? 'no engine' : null, 'bad');
    if (noEngine) noEngine.title = node.engine_error;
    [
      fact(node.role),
      fact(status, node.status.toLowerCase()),
      fact(node.availability, node.availability.toLowerCase()),
      fact(node.engine_version ? 'engine ' + node.engine_version : null),
      fact(cpus(node.nano_cpus)),
      fact(memory(node.memory_bytes)),
      fact(node.addr),
    ].forEach((f) => f && facts.append(f));
    head.append(facts);
    return head;
  }

  function card(task, service) {
    const c = el('article', 'task svc-' + (service ? service.colour : 0));
    const serviceName = service ? service.name : task.service_id.slice(0, 12);
    c.dataset.id = task.id;
    c.dataset.service = serviceName;
    c.dataset.node = task.node_id;
    c.dataset.state = task.state;
    if (task.desired_state !== 'Running' && task.desired_state !== 'Ready') c.classList.add('leaving');
    if (view.filter && view.filter !== serviceName) c.classList.add('hidden');
    const top = el('div', 'top');
    top.append(el('span', 'name', task.name), el('span', 'state ' + task.state.toLowerCase(), task.state));
    c.append(top, el('div', 'image', task.image));
    task.addrs.forEach((a) => c.append(el('div', 'addr', a)));
    if (task.err) c.append(el('div', 'err', task.err));
    const foot = el('div', 'age');
    foot.dataset.created = task.created_ms;
    foot.textContent = age(serverNow() - task.created_ms);
    if (c.classList.contains('leaving')) foot.textContent += ' → ' + task.desired_state.toLowerCase();
    c.append(foot);
    return c;
  }

  function meshTable(mesh) {
    const box = el('div', 'mesh');
    box.append(el('h3', null, 'Routing mesh' + (mesh && mesh.backend ? ' (' + mesh.backend + ')' : '')));
    if (!mesh) {
      box.append(el('div', 'none', 'not read yet'));
    } else if (mesh.error) {
      box.append(el('div', 'error', mesh.error));
    } else if (!mesh.ports.length) {
      box.append(el('div', 'none', 'no published port'));
    } else {
      const table = el('table');
      mesh.ports.forEach((p) => {
        const tr = el('tr');
        tr.dataset.port = p.port;
        tr.append(el('td', null, p.port + '/' + p.protocol), el('td', null, p.service),
          el('td', null, p.backends.length ? p.backends.join(' ') : 'no backend (reset)'));
        table.append(tr);
      });
      box.append(table);
    }
    return box;
  }

  function legend(services, counts) {
    const nav = $('legend');
    nav.replaceChildren();
    services.forEach((s) => {
      const b = el('button', 'svc-' + s.colour + (view.filter === s.name ? ' selected' : ''));
      b.type = 'button';
      b.dataset.service = s.name;
      const want = s.replicas === null ? 'global' : s.replicas;
      b.append(el('span', 'swatch'), el('span', null, s.name),
        el('small', null, (counts[s.id] || 0) + '/' + want + (s.ports.length ? ' · ' + s.ports.join(' ') : '')));
      b.onclick = () => setFilter(view.filter === s.name ? '' : s.name);
      nav.append(b);
    });
    const select = $('filter');
    const options = [el('option', null, 'all services')];
    options[0].value = '';
    services.forEach((s) => {
      const o = el('option', null, s.name);
      o.value = s.name;
      options.push(o);
    });
    select.replaceChildren(...options);
    select.value = services.some((s) => s.name === view.filter) ? view.filter : '';
  }

  function render() {
    const doc = view.doc;
    const services = new Map(doc.services.map((s) => [s.id, s]));
    const running = {};
    const byNode = new Map(doc.nodes.map((n) => [n.id, []]));
    const unplaced = [];
    doc.tasks.forEach((t) => {
      if (t.state === 'Running') running[t.service_id] = (running[t.service_id] || 0) + 1;
      (byNode.get(t.node_id) || unplaced).push(t);
    });
    legend(doc.services, running);
    const columns = doc.nodes.map((n) => {
      const col = el('section', 'node' + (n.status === 'Ready' ? '' : ' down'));
      col.dataset.nodeId = n.id;
      col.dataset.hostname = n.hostname;
      const cards = el('div', 'cards');
      byNode.get(n.id).forEach((t) => cards.append(card(t, services.get(t.service_id))));
      col.append(nodeHead(n), cards, meshTable(doc.meshes[n.id]));
      return col;
    });
    $('nodes').replaceChildren(...columns);
    const strip = $('unassigned');
    strip.hidden = unplaced.length === 0;
    strip.querySelector('.cards').replaceChildren(...unplaced.map((t) => card(t, services.get(t.service_id))));
    const total = Object.values(running).reduce((a, b) => a + b, 0);
    // When the manager rendered what is shown: how far behind the page is, for a person or a test.
    document.body.dataset.renderedAt = doc.now_ms;
    $('summary').textContent = doc.nodes.length + ' nodes · ' + doc.services.length + ' services · ' + total + ' running';
  }

  function setFilter(name) {
    view.filter = name;
    history.replaceState(null, '', name ? '#service=' + encodeURIComponent(name) : location.pathname);
    if (view.doc) render();
  }

  function tickAges() {
    if (!view.doc) return;
    const now = serverNow();
    document.querySelectorAll('.task .age').forEach((a) => {
      const rest = a.textContent.replace(/^\S+/, '');
      a.textContent = age(now - Number(a.dataset.created)) + rest;
    });
  }

  function connect() {
    const conn = $('conn');
    const source = new EventSource('api/events');
    source.addEventListener('state', (e) => {
      view.doc = JSON.parse(e.data);
      view.received = Date.now();
      conn.className = 'conn conn-live';
      conn.textContent = 'live';
      render();
    });
    source.onerror = () => {
      conn.className = 'conn conn-lost';
      conn.textContent = 'reconnecting…';
    };
  }

  $('filter').onchange = (e) => setFilter(e.target.value);
  setInterval(tickAges, 1000);
  connect();
})();
