/* specops docs: the graph page.
 *
 * A classic script (no modules, workers or fetch: a page opened from disk may not use them). The data comes
 * from data.js (window.SPECOPS_DATA, written by compiler/emit/site/graphdata.py): nodes as columns, with the
 * layer and row that Python's layered layout gave them. The page draws them with Cytoscape.js; small views
 * (a selection of up to DAGRE_MAX resources) are laid out afresh by dagre. Large repositories open collapsed:
 * one node per (group, layer) cell, where a group is a folder, an owner or a primary tag.
 *
 * Everything a spec says reaches the DOM as text (textContent), never as HTML.
 * Test hooks: window.specops, and body[data-ready="1"] once the first frame is drawn.
 */
(function () {
  "use strict";
  var D = window.SPECOPS_DATA;
  var T = { start: performance.now() };
  var $ = function (s) { return document.querySelector(s); };
  var N = D.id.length, E = D.edges, M = E.length / 2;
  var P = D.plan;
  var COLORS = { environment: "#7f7f7f", dataset: "#4e79a7", quality_rule: "#f28e2b", transform: "#59a14f",
                 model: "#b07aa1", deployment: "#e15759" };
  var SHAPES = { environment: "rectangle", dataset: "barrel", quality_rule: "round-tag", transform: "round-rectangle",
                 model: "hexagon", deployment: "round-diamond" };
  var ACT_COLORS = { create: "#2ca02c", update: "#ff7f0e", delete: "#d62728", replace: "#9467bd" };
  var DAGRE_MAX = 300;    // an ungrouped view of up to this many resources gets a fresh dagre layout
  var ARROWS_MAX = 600;   // edges get arrows (bezier) up to this many items; haystack lines beyond
  var GROUP_MIN = 1500;   // a selection smaller than this is shown ungrouped, whatever the view
  var RESULTS_MAX = 50;
  var FIT_MAX = 400;      // focusing fits the lineage in view up to this many shown nodes; beyond, it centres
  var BANDS = 12;         // collapsed views merge layers into at most this many columns: an overview fits a screen
  var GROUP_XSTEP = 320;  // pixels between the columns of a collapsed view (group labels sit under the groups)

  var byId = new Map();
  for (var i0 = 0; i0 < N; i0++) byId.set(D.id[i0], i0);
  var names = D.id.map(function (a) { return a.slice(a.indexOf(".") + 1); });
  var lower = D.id.map(function (a) { return a.toLowerCase(); });
  var folders = D.files.map(function (f) { var k = f.lastIndexOf("/"); return k < 0 ? "" : f.slice(0, k); });

  // ---- adjacency (CSR) and walks ----------------------------------------------------------------------
  function csr(from, to) {
    var start = new Int32Array(N + 1), list = new Int32Array(M), k;
    for (k = 0; k < M; k++) start[E[2 * k + from] + 1]++;
    for (var i = 0; i < N; i++) start[i + 1] += start[i];
    var fill = start.slice(0, N);
    for (k = 0; k < M; k++) list[fill[E[2 * k + from]]++] = E[2 * k + to];
    return { start: start, list: list };
  }
  var DOWN = csr(0, 1), UP = csr(1, 0);
  function nbrs(adj, i) { return adj.list.subarray(adj.start[i], adj.start[i + 1]); }
  // a transform and its output dataset are one dbt model: selected together, one step for a depth
  var KIND_DATASET = D.kinds.indexOf("dataset"), KIND_TRANSFORM = D.kinds.indexOf("transform");
  var OUTPUT = new Int32Array(N).fill(-1);
  for (var e0 = 0; e0 < M; e0++) {
    if (D.kind[E[2 * e0]] === KIND_TRANSFORM && D.kind[E[2 * e0 + 1]] === KIND_DATASET) OUTPUT[E[2 * e0]] = E[2 * e0 + 1];
  }
  function oneModel(a, b) { return OUTPUT[a] === b || OUTPUT[b] === a; }
  function walk(adj, seeds, depth) {  // every node reachable from the seeds (not the seeds), within depth steps
    if (depth != null) return weighted(adj, seeds, depth);
    var seen = new Set(), frontier = Array.from(seeds), level = 0;
    while (frontier.length && (depth == null || level < depth)) {
      var next = [];
      for (var a = 0; a < frontier.length; a++) {
        var ns = nbrs(adj, frontier[a]);
        for (var b = 0; b < ns.length; b++) if (!seen.has(ns[b])) { seen.add(ns[b]); next.push(ns[b]); }
      }
      frontier = next; level++;
    }
    return seen;
  }

  function weighted(adj, seeds, depth) {  // within depth steps, a transform and its output being one step
    var out = new Set();
    Array.from(seeds).forEach(function (start) {
      var best = new Map([[start, 0]]), queue = [start];
      while (queue.length) {
        var node = queue.shift(), ns = nbrs(adj, node);
        for (var b = 0; b < ns.length; b++) {
          var cost = best.get(node) + (oneModel(node, ns[b]) ? 0 : 1), had = best.get(ns[b]);
          if (cost <= depth && (had === undefined || cost < had)) {
            best.set(ns[b], cost);
            if (cost === best.get(node)) queue.unshift(ns[b]); else queue.push(ns[b]);
          }
        }
      }
      best.delete(start);
      best.forEach(function (_, k) { out.add(k); });
    });
    return out;
  }

  // ---- selectors: the grammar and results of compiler/spec/selection.py ---------------------------------
  var ATOM = /^(@)?(?:(\d*)\+)?([^+]+?)(?:\+(\d*))?$/;
  var METHODS = ["kind", "tag", "path", "owner", "name"];
  var EXAMPLES = { kind: "model", tag: "pii", path: "specs/models", owner: "@acme/ml", name: "churn*" };
  function globRe(pat) {  // Python's fnmatch.translate, case-sensitive (fnmatchcase)
    var res = "", i = 0, n = pat.length;
    while (i < n) {
      var c = pat[i++];
      if (c === "*") { res += "[\\s\\S]*"; while (pat[i] === "*") i++; }
      else if (c === "?") res += "[\\s\\S]";
      else if (c === "[") {
        var j = i;
        if (j < n && pat[j] === "!") j++;
        if (j < n && pat[j] === "]") j++;
        while (j < n && pat[j] !== "]") j++;
        if (j >= n) { res += "\\["; continue; }
        var stuff = pat.slice(i, j); i = j + 1;
        if (stuff === "!") { res += "[\\s\\S]"; continue; }
        var neg = stuff[0] === "!";
        if (neg) stuff = stuff.slice(1);
        res += "[" + (neg ? "^" : "") + stuff.replace(/[\\\[\]^]/g, "\\$&") + "]";
      } else res += c.replace(/[.*+?^${}()|[\]\\\/-]/g, "\\$&");
    }
    try { return new RegExp("^(?:" + res + ")$"); } catch (err) { return /(?!)/; }
  }
  function kindError(v) {
    var hint = closest(v, D.kinds);
    return new Error("unknown kind '" + v + "' in 'kind:" + v + "'; " +
                     (hint ? "did you mean '" + hint + "'?" : "kinds: " + D.kinds.join(", ")));
  }
  function closest(word, pool) {  // a rough stand-in for difflib's close matches: shared prefix
    var best = null, score = 0;
    pool.forEach(function (p) {
      var k = 0; while (k < word.length && k < p.length && word[k] === p[k]) k++;
      if (k > score && k >= Math.min(3, p.length)) { best = p; score = k; }
    });
    return best;
  }
  function method(body) {
    var m = "name", v = body, out = new Set(), re, i;
    if (body.indexOf(":") > 0) {
      var k = body.indexOf(":"); m = body.slice(0, k); v = body.slice(k + 1);
      if (METHODS.indexOf(m) < 0) {
        throw new Error("unknown selector method '" + m + ":'; use one of " +
                        METHODS.map(function (x) { return x + ":"; }).join(", "));
      }
      if (!v) throw new Error("'" + m + ":' needs a value, e.g. " + m + ":" + EXAMPLES[m]);
    }
    if (m === "kind") {
      v = v.replace(/-/g, "_").toLowerCase();
      v = ({ qualityrule: "quality_rule", rule: "quality_rule" })[v] || v;
      re = globRe(v);
      var ok = D.kinds.map(function (x) { return re.test(x); });
      if (!ok.some(Boolean)) throw kindError(v);
      for (i = 0; i < N; i++) if (ok[D.kind[i]]) out.add(i);
    } else if (m === "tag") {
      re = globRe(v);
      var okt = D.tags.map(function (t) { return re.test(t); });
      for (i = 0; i < N; i++) if (D.tag[i].some(function (t) { return okt[t]; })) out.add(i);
    } else if (m === "path") {
      v = normPath(v.replace(/\/+$/, "") || "/");
      if (v === "") { for (i = 0; i < N; i++) out.add(i); return out; }
      re = globRe(v);
      var under = function (f) { return re.test(f) || f.indexOf(v + "/") === 0; };
      var okp = D.files.map(under);
      for (i = 0; i < N; i++) {
        if ((D.file[i] >= 0 && okp[D.file[i]]) || (D.inputs && D.inputs[i].some(under))) out.add(i);
      }
    } else if (m === "owner") {
      re = globRe(v);
      var oko = D.owners.map(function (o) { return re.test(o); });
      for (i = 0; i < N; i++) if (D.owner[i] >= 0 && oko[D.owner[i]]) out.add(i);
    } else {
      re = globRe(v);
      for (i = 0; i < N; i++) if (re.test(names[i]) || re.test(D.id[i])) out.add(i);
    }
    return out;
  }
  function atom(text) {
    var m = ATOM.exec(text);
    if (!m) throw new Error("cannot parse selector '" + text + "'");
    if (m[3].charAt(0) === "@" || /^\d+$/.test(m[3])) {  // `@`, `3+`: an operator without its selector
      throw new Error("cannot parse selector '" + text + "': '@' and a depth go with a name (@name, 2+name, name+1)");
    }
    var base = method(m[3]), out = new Set(base);
    if (!base.size) throw new Error("'" + text + "' matches no resource; " + noMatchHint(m[3]));
    if (m[1]) {
      walk(DOWN, base).forEach(function (d) { out.add(d); });
      walk(UP, new Set(out)).forEach(function (u) { out.add(u); });
      return out;
    }
    if (m[2] !== undefined) walk(UP, base, m[2] ? +m[2] : null).forEach(function (u) { out.add(u); });
    if (m[4] !== undefined) walk(DOWN, base, m[4] ? +m[4] : null).forEach(function (d) { out.add(d); });
    return out;
  }
  function select(expr) {  // a Set of node indexes, or null for everything
    if (!expr.trim()) return null;
    var result = new Set();
    expr.trim().split(/\s+/).forEach(function (term) {
      var parts = term.split(",");
      if (parts.some(function (p) { return !p; })) {
        throw new Error("'" + term + "' has an empty selector beside a comma (a comma joins two selectors: " +
                        "a,b selects what both select)");
      }
      var chosen = atom(parts[0]);
      parts.slice(1).forEach(function (p) {
        var other = atom(p);
        chosen = new Set(Array.from(chosen).filter(function (x) { return other.has(x); }));
      });
      if (!chosen.size) throw new Error("'" + term + "' matches no resource: its selectors select nothing in common");
      chosen.forEach(function (x) { result.add(x); });
    });
    for (var t = 0; t < N; t++) {  // a transform and its output dataset: one dbt model, selected together
      if (OUTPUT[t] >= 0 && (result.has(t) || result.has(OUTPUT[t]))) { result.add(t); result.add(OUTPUT[t]); }
    }
    return result;
  }
  function normPath(v) {  // posixpath.normpath of a repository-relative path ("" for the root)
    var parts = [];
    v.split("/").forEach(function (p) {
      if (p === "" || p === ".") return;
      if (p === ".." && parts.length && parts[parts.length - 1] !== "..") parts.pop(); else parts.push(p);
    });
    return parts.join("/");
  }
  function noMatchHint(body) {
    var k = body.indexOf(":"), m = k > 0 ? body.slice(0, k) : "name", v = k > 0 ? body.slice(k + 1) : body;
    if (m === "path") return "paths are relative to the repository root";
    var pool = m === "tag" ? D.tags : m === "owner" ? D.owners : names.concat(D.id);
    var same = pool.filter(function (p) { return p.toLowerCase() === v.toLowerCase(); });
    var hint = same.length ? same[0] : closest(v, pool);
    return hint ? "did you mean '" + hint + "'?" : "no " + m + " is like it";
  }

  // ---- what is shown: nodes, or cells of (group, layer) -------------------------------------------------
  var S = { groupBy: D.collapse, expanded: new Set(), subset: null, selector: "", focus: -1, plan: !!P };
  function groupOf(i) {
    if (S.groupBy === "folder") return D.file[i] >= 0 ? folders[D.file[i]] || "(root)" : "(none)";
    if (S.groupBy === "owner") return D.owner[i] >= 0 ? D.owners[D.owner[i]] : "(no owner)";
    return D.tag[i].length ? D.tags[D.tag[i][0]] : "(no tag)";
  }
  var maxLayer = D.layer.reduce(function (a, b) { return Math.max(a, b); }, 0);
  var BAND = Math.max(1, Math.ceil((maxLayer + 1) / BANDS));
  function cellOf(i) { return "g:" + S.groupBy + ":" + groupOf(i) + "@" + Math.floor(D.layer[i] / BAND); }
  function groupSize(n) { return Math.round(Math.min(60, 18 + 5 * Math.log2(n))); }
  function grouped() { return S.groupBy !== "none" && !(S.subset && S.subset.size < GROUP_MIN); }
  var items = [], visOf = new Int32Array(N), cy = null, lastPos = null;

  function build() {
    var t0 = performance.now(), grouping = grouped(), index = new Map(), k, i;
    items = []; visOf.fill(-1);
    var members = S.subset ? Array.from(S.subset).sort(function (a, b) { return a - b; }) : null;
    var count = members ? members.length : N;
    for (k = 0; k < count; k++) {
      i = members ? members[k] : k;
      var cell = grouping ? cellOf(i) : null;
      var key = cell === null || S.expanded.has(cell) ? D.id[i] : cell;
      var at = index.get(key);
      if (at === undefined) {
        at = items.length; index.set(key, at);
        items.push({ id: key, node: key === D.id[i] ? i : -1, group: key === D.id[i] ? null : groupOf(i),
                     layer: grouping ? Math.floor(D.layer[i] / BAND) : D.layer[i], rowSum: 0, n: 0, kinds: new Array(D.kinds.length).fill(0),
                     changed: 0, impacted: 0 });
      }
      var o = items[at];
      o.rowSum += D.row[i]; o.n++; o.kinds[D.kind[i]]++;
      if (P && P.act[i]) o.changed++;
      if (P && P.work[i]) o.impacted++;
      visOf[i] = at;
    }
    var impactEdge = new Set(P ? P.impact_edges : []);
    var edges = new Map();
    for (k = 0; k < M; k++) {
      var a = visOf[E[2 * k]], b = visOf[E[2 * k + 1]];
      if (a < 0 || b < 0 || a === b) continue;
      var ek = a * items.length + b, e = edges.get(ek);
      if (!e) { e = { n: 0, impact: false }; edges.set(ek, e); }
      e.n++; if (impactEdge.has(k)) e.impact = true;
    }
    var useDagre = !grouping && items.length <= DAGRE_MAX && typeof cytoscapeDagre !== "undefined";
    var pos = useDagre ? null : stack(grouping);
    var arrows = items.length <= ARROWS_MAX, els = [];
    items.forEach(function (o, j) {
      var kind = o.kinds.indexOf(Math.max.apply(null, o.kinds)), kname = D.kinds[kind];
      var data = { id: o.id, kind: kname, color: COLORS[kname], shape: SHAPES[kname] };
      if (o.node >= 0) {
        data.label = names[o.node]; data.w = 22;
        if (P && P.act[o.node]) { data.act = P.actions[P.act[o.node] - 1]; data.cat = P.categories[P.cat[o.node] - 1]; }
        if (P && P.work[o.node]) data.work = P.works[P.work[o.node] - 1];
      } else {
        data.label = o.group + " (" + o.n + ")"; data.group = o.group; data.w = groupSize(o.n); data.shape = "round-rectangle";
        if (o.changed) data.act = "update";
        if (o.impacted) data.work = "rebuild";
      }
      var el = { group: "nodes", data: data, classes: o.node >= 0 ? "" : "group" };
      if (pos) el.position = pos[j];
      els.push(el);
    });
    edges.forEach(function (e, ek) {
      var a = Math.floor(ek / items.length), b = ek % items.length;
      els.push({ group: "edges", data: { id: "e" + ek, source: items[a].id, target: items[b].id, n: e.n },
                 classes: (arrows ? "a" : "") + (e.impact ? " impact" : "") });
    });
    T.buildMs = performance.now() - t0;
    var t1 = performance.now();
    cy.batch(function () { cy.elements().remove(); cy.add(els); });
    cy.elements().toggleClass("plan", S.plan);
    T.addMs = performance.now() - t1;
    var t2 = performance.now();
    if (useDagre) {
      cy.layout({ name: "dagre", rankDir: "LR", ranker: "tight-tree", nodeSep: 10, rankSep: 50, animate: false, nodeDimensionsIncludeLabels: true,
                  fit: true, padding: 30 }).run();
      lastPos = null;
    } else { lastPos = pos; fit(pos); }
    T.layoutMs = performance.now() - t2;
    status();
    if (S.focus >= 0) highlight(S.focus);
  }

  function stack(grouping) {  // Python's layer and order: columns stacked top-down, centred
    var layers = new Map(), pos = new Array(items.length);
    items.forEach(function (o, j) { if (!layers.has(o.layer)) layers.set(o.layer, []); layers.get(o.layer).push(j); });
    var xstep = grouping ? GROUP_XSTEP : D.xstep;
    layers.forEach(function (js, layer) {
      js.sort(function (a, b) {  // in a collapsed column, groups first, then opened resources by layer and row
        var A = items[a], B = items[b];
        if (grouping && (A.node < 0) !== (B.node < 0)) return A.node < 0 ? -1 : 1;
        if (grouping && A.node >= 0) return D.layer[A.node] - D.layer[B.node] || D.row[A.node] - D.row[B.node];
        return A.rowSum / A.n - B.rowSum / B.n;
      });
      var y = 0, ys = js.map(function (j) {
        var h = items[j].node >= 0 ? D.ystep : groupSize(items[j].n) + 70, c = y + h / 2; y += h; return c;
      });
      js.forEach(function (j, r) { pos[j] = { x: layer * xstep, y: ys[r] - y / 2 }; });
    });
    return pos;
  }

  function fit(pos) {  // not cy.fit(): it measures every label, seconds at 10,000 nodes; the positions are known
    if (!pos.length) return;
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    pos.forEach(function (p) { x0 = Math.min(x0, p.x); x1 = Math.max(x1, p.x); y0 = Math.min(y0, p.y); y1 = Math.max(y1, p.y); });
    var w = x1 - x0 + 520, h = y1 - y0 + 120;
    var z = Math.max(0.12, Math.min(1.4, cy.width() / w, cy.height() / h));
    var px = Math.max(10, (cy.width() - w * z) / 2) - (x0 - 250) * z;
    // a column of thousands is taller than any screen: past the zoom floor, show the middle of the graph
    var py = (cy.height() - (y0 + y1) * z) / 2;
    cy.viewport({ zoom: z, pan: { x: px, y: py } });
  }

  function status(message) {
    var el = $("#status");
    if (message) { el.textContent = message; el.className = "err"; return; }
    el.className = "";
    el.textContent = N.toLocaleString("en") + " resources · " + M.toLocaleString("en") + " edges · showing " +
      items.length.toLocaleString("en") + (grouped() ? " (collapsed)" : "") +
      (S.subset ? " · selected " + S.subset.size.toLocaleString("en") : "");
  }

  // ---- focus, detail, routes ------------------------------------------------------------------------------
  function lineageOf(i) {
    var keep = new Set([i]);
    walk(UP, new Set([i])).forEach(function (n) { keep.add(n); });
    walk(DOWN, new Set([i])).forEach(function (n) { keep.add(n); });
    return keep;
  }
  function highlight(i) {
    var ids = new Set();
    lineageOf(i).forEach(function (n) { if (visOf[n] >= 0) ids.add(items[visOf[n]].id); });
    cy.batch(function () {
      cy.elements().removeClass("faded focus");
      cy.nodes().forEach(function (n) { if (!ids.has(n.id())) n.addClass("faded"); });
      cy.edges().forEach(function (e) {
        if (!ids.has(e.data("source")) || !ids.has(e.data("target"))) e.addClass("faded");
      });
    });
    var me = visOf[i] >= 0 ? cy.getElementById(items[visOf[i]].id) : null;
    if (!me || !me.length) return;
    me.addClass("focus");
    if (ids.size <= FIT_MAX) {  // show the whole lineage (measuring a few hundred labels is quick)
      cy.fit(cy.nodes().filter(function (n) { return ids.has(n.id()); }), 40);
      if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(me); }
    } else {
      if (cy.zoom() < 0.6) cy.zoom(0.9);
      cy.center(me);
    }
  }
  function hideDetail() {
    if ($("#detail").hidden) return;
    $("#detail").hidden = true; cy.resize();
  }
  function clearFocus() {
    S.focus = -1;
    cy.elements().removeClass("faded focus");
    hideDetail();
    route();
  }
  function reveal(i, fromPage) {  // focus a resource: make it visible, highlight its lineage, show its page
    var rebuild = false;
    if (S.subset && !S.subset.has(i)) { S.subset = null; S.selector = ""; $("#select").value = ""; rebuild = true; }
    if (grouped() && !S.expanded.has(cellOf(i))) { S.expanded.add(cellOf(i)); rebuild = true; }
    S.focus = i;
    showPage(i, fromPage);
    if (rebuild) build(); else highlight(i);
    route();
  }
  var framed = null;  // the page the frame shows (it may have followed a link since its src was set)
  function showPage(i, fromPage) {
    var addr = D.id[i], href = "r/" + addr + ".html";
    if ($("#detail").hidden) { $("#detail").hidden = false; cy.resize(); }
    $("#detailtitle").textContent = addr;
    $("#open").setAttribute("href", href);
    if (!fromPage && framed !== href) $("#page").setAttribute("src", href);
    framed = href;
  }
  function applySelector(expr) {
    try {
      S.subset = select(expr);
      S.selector = expr.trim();
    } catch (err) { status(err.message); return false; }
    S.focus = -1; S.expanded.clear();
    hideDetail();
    build(); route();
    if (S.subset && S.subset.size === 0) status("the selection " + JSON.stringify(expr.trim()) + " matched no resource");
    return true;
  }
  var routing = false;
  function route() {  // the state in the address bar, so a view can be shared or bookmarked
    if (routing) return;
    var h = S.focus >= 0 ? "focus=" + D.id[S.focus] : S.selector ? "select=" + encodeURIComponent(S.selector) : "";
    if (S.groupBy !== D.collapse) h += (h ? "&" : "") + "view=" + S.groupBy;
    history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
  }
  function fromHash() {
    var params = new URLSearchParams(location.hash.slice(1)), view = params.get("view");
    routing = true;
    try {
      if (view && VIEWS.indexOf(view) >= 0 && view !== S.groupBy) {
        S.groupBy = view; $("#groupby").value = view; S.expanded.clear(); build();
      }
      if (params.has("select")) { $("#select").value = params.get("select"); applySelector(params.get("select")); }
      if (params.has("focus")) {
        var i = byId.get(params.get("focus"));
        if (i !== undefined) reveal(i); else status("no resource " + params.get("focus"));
      }
    } finally { routing = false; }
  }

  // ---- side panel: search, plan, legend ------------------------------------------------------------------
  function entry(i, extra) {
    var li = document.createElement("li"), a = document.createElement("a");
    a.href = "#focus=" + D.id[i]; a.textContent = D.id[i];
    a.style.borderLeftColor = COLORS[D.kinds[D.kind[i]]];
    a.addEventListener("click", function (ev) { ev.preventDefault(); reveal(i); });
    li.appendChild(a);
    if (extra) { var s = document.createElement("span"); s.className = "extra"; s.textContent = extra; li.appendChild(s); }
    return li;
  }
  function search() {
    var q = $("#search").value.trim().toLowerCase(), ul = $("#results"), shown = 0, more = 0;
    ul.replaceChildren();
    if (!q) return [];
    var found = [];
    for (var i = 0; i < N; i++) if (lower[i].indexOf(q) >= 0) { if (shown < RESULTS_MAX) { found.push(i); shown++; } else more++; }
    found.forEach(function (i) { ul.appendChild(entry(i)); });
    var li = document.createElement("li"); li.className = "note";
    li.textContent = found.length ? (more ? "and " + more + " more" : "") : "no resource matches";
    if (li.textContent) ul.appendChild(li);
    return found;
  }
  function planPanel() {
    if (!P) return;
    $("#planlabel").hidden = false;
    var el = $("#planpanel"); el.hidden = false;
    var h = document.createElement("h2"); h.textContent = "Plan · " + (P.environment || "all environments");
    var p = document.createElement("p"); p.className = "summary"; p.textContent = P.summary_line;
    var b = document.createElement("p"); b.className = "note"; b.textContent = "baseline: " + P.baseline;
    el.append(h, p, b);
    if (P.stale) { var w = document.createElement("p"); w.className = "warn"; w.textContent = "The plan was made from other specs than these: marks may not match."; el.appendChild(w); }
    var lists = [["changed", []]], i;
    for (i = 0; i < N; i++) if (P.act[i]) lists[0][1].push(i);
    P.works.forEach(function (w) {
      lists.push([w, (P.lists[w] || []).map(function (a) { return byId.get(a); }).filter(function (x) { return x !== undefined; })]);
    });
    lists.forEach(function (pair) {
      if (!pair[1].length) return;
      var d = document.createElement("details"); d.open = pair[1].length <= 12; d.className = "planlist"; d.dataset.list = pair[0];
      var s = document.createElement("summary"); s.textContent = pair[0] + " (" + pair[1].length + ")";
      var ul = document.createElement("ul");
      pair[1].slice(0, 200).forEach(function (j) {
        var extra = pair[0] === "changed" ? P.actions[P.act[j] - 1] + ", " + P.categories[P.cat[j] - 1] : "";
        ul.appendChild(entry(j, extra));
      });
      if (pair[1].length > 200) { var li = document.createElement("li"); li.className = "note"; li.textContent = "and " + (pair[1].length - 200) + " more on the plan page"; ul.appendChild(li); }
      d.append(s, ul); el.appendChild(d);
    });
    if (P.deleted.length) {
      var dd = document.createElement("details"), ds = document.createElement("summary"), dl = document.createElement("ul");
      ds.textContent = "deleted (" + P.deleted.length + ")";
      P.deleted.forEach(function (x) { var li = document.createElement("li"); li.textContent = x.address + " (" + x.action + ")"; dl.appendChild(li); });
      dd.append(ds, dl); el.appendChild(dd);
    }
    var link = document.createElement("a"); link.href = "plan.html"; link.textContent = "all changes and generated-file diffs";
    var pl = document.createElement("p"); pl.appendChild(link); el.appendChild(pl);
  }
  function legend() {
    var counts = new Array(D.kinds.length).fill(0);
    for (var i = 0; i < N; i++) counts[D.kind[i]]++;
    D.kinds.forEach(function (k, j) {
      if (!counts[j]) return;
      var li = document.createElement("li"), a = document.createElement("a");
      li.style.setProperty("--c", COLORS[k]);
      a.href = "#select=kind:" + k; a.textContent = k.replace("_", " ") + " (" + counts[j] + ")";
      a.addEventListener("click", function (ev) { ev.preventDefault(); $("#select").value = "kind:" + k; applySelector("kind:" + k); });
      li.appendChild(a); $("#legend").appendChild(li);
    });
    if (P) {
      Object.keys(ACT_COLORS).forEach(function (act) {
        var li = document.createElement("li"); li.className = "mark"; li.style.setProperty("--c", ACT_COLORS[act]);
        li.textContent = act; $("#legend").appendChild(li);
      });
      var li = document.createElement("li"); li.className = "mark dashed"; li.textContent = "impacted (rebuild, retrain, rollout, ...)";
      $("#legend").appendChild(li);
    }
  }

  // ---- Cytoscape --------------------------------------------------------------------------------------------
  if (typeof cytoscapeDagre !== "undefined") cytoscape.use(cytoscapeDagre);
  var t = performance.now();
  var style = [
    { selector: "node", style: { "background-color": "data(color)", shape: "data(shape)", label: "data(label)",
        width: "data(w)", height: "data(w)", "font-size": 12, "min-zoomed-font-size": N > 2000 ? 7 : 4, "text-halign": "right",
        "text-valign": "center", "text-margin-x": 5, color: "#222" } },
    { selector: "node.group", style: { "font-size": 28, "min-zoomed-font-size": 3, "text-max-width": 290,
        "text-wrap": "wrap", "text-valign": "bottom", "text-halign": "center", "text-margin-x": 0, "text-margin-y": 4,
        "background-opacity": 0.85 } },
    { selector: "edge", style: { "curve-style": "haystack", "haystack-radius": 0, width: 1, "line-color": "#b8b8b8" } },
    { selector: "edge.a", style: { "curve-style": "bezier", "target-arrow-shape": "triangle", "arrow-scale": 0.8,
        "target-arrow-color": "#b8b8b8" } },
    { selector: ".faded", style: { opacity: 0.12 } },
    { selector: "node.focus", style: { "border-width": 3, "border-color": "#111", "font-weight": "bold" } },
    { selector: "node.plan[work]", style: { "border-width": 3, "border-style": "dashed", "border-color": "#444" } },
    { selector: "edge.plan.impact", style: { "line-color": "#d62728", "target-arrow-color": "#d62728", width: 2.5 } },
  ];
  Object.keys(ACT_COLORS).forEach(function (act) {
    style.push({ selector: "node.plan[act = '" + act + "']", style: { "border-width": 5, "border-style": "solid",
                 "border-color": ACT_COLORS[act] } });
  });
  style.push({ selector: "node.plan[cat = 'breaking']", style: { "border-style": "double", "border-width": 7 } });
  cy = cytoscape({ container: $("#cy"), minZoom: 0.02, maxZoom: 4, pixelRatio: 1, textureOnViewport: true,
                   hideEdgesOnViewport: N > 2000, motionBlur: false, boxSelectionEnabled: false, style: style });
  T.cyInit = performance.now() - t;
  cy.on("tap", "node", function (ev) {
    var d = ev.target.data();
    if (d.group !== undefined) { S.expanded.add(ev.target.id()); build(); }
    else reveal(byId.get(d.id));
  });
  cy.on("tap", function (ev) { if (ev.target === cy && S.focus >= 0) clearFocus(); });

  var timer = 0;
  $("#search").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(search, 80); });
  $("#search").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { var found = search(); if (found.length) reveal(found[0]); }
  });
  $("#select").addEventListener("keydown", function (ev) { if (ev.key === "Enter") applySelector($("#select").value); });
  $("#groupby").addEventListener("change", function (ev) { S.groupBy = ev.target.value; S.expanded.clear(); build(); route(); });
  $("#plan").addEventListener("change", function (ev) { S.plan = ev.target.checked; cy.elements().toggleClass("plan", S.plan); });
  $("#reset").addEventListener("click", function () {
    S.subset = null; S.selector = ""; S.focus = -1; S.expanded.clear(); S.groupBy = D.collapse;
    $("#groupby").value = D.collapse; $("#select").value = ""; $("#search").value = ""; $("#results").replaceChildren();
    hideDetail(); build(); route();
  });
  function lineageButton(sel, make) {
    $(sel).addEventListener("click", function () {
      if (S.focus < 0) return;
      var expr = make(D.id[S.focus]); $("#select").value = expr; applySelector(expr);
    });
  }
  lineageButton("#up", function (a) { return "+" + a; });
  lineageButton("#down", function (a) { return a + "+"; });
  lineageButton("#both", function (a) { return "+" + a + "+"; });
  $("#close").addEventListener("click", clearFocus);
  window.addEventListener("message", function (ev) {  // the page in the frame says which resource it shows
    if (ev.source !== $("#page").contentWindow || !ev.data || ev.data.specops !== "page") return;
    var i = byId.get(ev.data.address);
    if (i === undefined) return;
    if (i !== S.focus) reveal(i, true); else framed = "r/" + D.id[i] + ".html";
  });
  window.addEventListener("hashchange", fromHash);

  var VIEWS = ["none", "folder", "owner", "tag"];
  var view0 = new URLSearchParams(location.hash.slice(1)).get("view");
  if (VIEWS.indexOf(view0) >= 0) S.groupBy = view0;  // before the first build: a link to a view draws it once
  $("#groupby").value = S.groupBy;
  if (N > 3000) $("#groupby option[value=none]").textContent = "all resources (slow: " + N.toLocaleString("en") + ")";
  planPanel();
  legend();
  build();
  fromHash();
  function ready() {
    if (document.body.dataset.ready) return;
    T.ready = performance.now() - T.start;
    document.body.dataset.ready = "1";
  }
  cy.one("render", ready);
  requestAnimationFrame(function () { requestAnimationFrame(ready); });

  window.specops = {
    cy: cy, state: S, timings: T, build: build, reveal: function (a) { reveal(byId.get(a)); },
    select: function (expr) {  // the addresses a selector picks, sorted (as `specops graph -s` prints them)
      var s = select(expr);
      return (s ? Array.from(s).map(function (i) { return D.id[i]; }) : D.id.slice()).sort();
    },
    visible: function () { return items.map(function (o) { return o.id; }); },
  };
})();
