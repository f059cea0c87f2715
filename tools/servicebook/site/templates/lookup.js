// Find a record by ID or name from the search box (issue #17). Case and customer pages stay out of
// Material's full-text index (their size at company scale); assets/servicebook/lookup.json, written
// by the build (site/people.py), lists every record shown somewhere by ID and name. Typing an ID
// ("RP-...") or a customer's or person's name shows the matching pages above the full-text results;
// Enter goes to the page when the text is an ID or a name exactly, or when one record matches.
// Everything is local: no request leaves the site.
(function () {
  "use strict";
  var MAX_HITS = 10;
  var data = null;
  var loading = null;
  var hits = [];

  function config() {
    var node = document.getElementById("__config");
    return node ? JSON.parse(node.textContent) : { base: "." };
  }

  function root() {
    return new URL(config().base.replace(/\/?$/, "/"), window.location.href);
  }

  function load() {
    if (!loading) {
      loading = fetch(new URL("assets/servicebook/lookup.json", root()))
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { data = d; return d; })
        .catch(function () { data = null; return null; });
    }
    return loading;
  }

  function url(item) {
    var page = data.pages[item[2]];
    return new URL(page + (item[3] ? "#rec-" + item[0] : ""), root()).href;
  }

  function find(query) {
    var q = query.trim().toLowerCase();
    if (!data || q.length < 2) return [];
    var exact = [], starts = [], contains = [];
    for (var i = 0; i < data.items.length; i++) {
      var item = data.items[i];
      var id = item[0].toLowerCase();
      var name = (item[1] || "").toLowerCase();
      if (id === q || (name && name.split(" ").indexOf(q) >= 0)) exact.push(item);
      else if (id.indexOf(q) === 0) starts.push(item);
      else if (name && name.indexOf(q) >= 0) contains.push(item);
      if (exact.length >= MAX_HITS) break;
    }
    return exact.concat(starts, contains).slice(0, MAX_HITS).map(function (item) {
      return { item: item, exact: exact.indexOf(item) >= 0 };
    });
  }

  function box() {
    var result = document.querySelector("[data-md-component=search-result]");
    if (!result) return null;
    var own = result.querySelector(".sb-lookup");
    if (!own) {
      own = document.createElement("div");
      own.className = "sb-lookup";
      var meta = result.querySelector(".md-search-result__meta");
      result.insertBefore(own, meta ? meta.nextSibling : result.firstChild);
    }
    return own;
  }

  function show(query) {
    hits = find(query);
    var own = box();
    if (!own) return;
    own.textContent = "";
    if (!hits.length) return;
    var list = document.createElement("ol");
    list.className = "md-search-result__list";
    hits.forEach(function (hit) {
      var li = document.createElement("li");
      li.className = "md-search-result__item";
      var a = document.createElement("a");
      a.className = "md-search-result__link sb-lookup__link";
      a.href = url(hit.item);
      var article = document.createElement("article");
      article.className = "md-search-result__article md-typeset";
      var h = document.createElement("h1");
      h.textContent = hit.item[0];  // text, never markup: names come from records
      article.appendChild(h);
      if (hit.item[1]) {
        var p = document.createElement("p");
        p.textContent = hit.item[1];
        article.appendChild(p);
      }
      a.appendChild(article);
      li.appendChild(a);
      list.appendChild(li);
    });
    var head = document.createElement("div");
    head.className = "md-search-result__meta";
    head.textContent = data.label;
    own.appendChild(head);
    own.appendChild(list);
  }

  function target() {
    if (hits.length === 1) return url(hits[0].item);
    var exact = hits.filter(function (h) { return h.exact; });
    return exact.length ? url(exact[0].item) : null;
  }

  document.addEventListener("focusin", function (ev) {
    if (ev.target && ev.target.matches && ev.target.matches("[data-md-component=search-query]")) load();
  });
  document.addEventListener("input", function (ev) {
    var input = ev.target;
    if (!input.matches || !input.matches("[data-md-component=search-query]")) return;
    var typed = input.value;
    load().then(function () { if (input.value === typed) show(typed); });  // a later key wins
  });
  // capture: before Material's own Enter (which opens the best full-text result)
  document.addEventListener("keydown", function (ev) {
    var input = ev.target;
    if (ev.key !== "Enter" || !input.matches || !input.matches("[data-md-component=search-query]")) return;
    hits = find(input.value);
    var go = target();
    if (go) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      window.location.href = go;
    }
  }, true);
})();
