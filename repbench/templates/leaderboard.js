// The leaderboard page's script, inlined by leaderboard.html.j2 (the page loads nothing): sorting,
// the comparison group and other filters, hiding the columns empty for every shown row, details links,
// and the view in the URL's query string (?group=x4-y&q=repsr&method=repsr&paper=0&sort=psnr_set5&dir=desc),
// so that a copied address opens the same view; the hash stays free for the details links.
(function () {
  "use strict";
  var table = document.getElementById("leaderboard");
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var headers = Array.prototype.slice.call(table.querySelectorAll("thead th[data-key]"));
  var filter = document.getElementById("filter");
  var methodSel = document.getElementById("method-filter");
  var groupSel = document.getElementById("group-filter");
  var showPaper = document.getElementById("show-paper");
  var count = document.getElementById("row-count");
  var convention = document.getElementById("convention");
  var hiddenNote = document.getElementById("hidden-columns");
  var budgetNote = document.getElementById("budget-note");
  var urlNote = document.getElementById("url-note");
  var cellsByKey = {};
  headers.forEach(function (th) {
    var key = th.getAttribute("data-key");
    cellsByKey[key] = Array.prototype.slice.call(tbody.querySelectorAll('td[data-key="' + key + '"]'));
  });

  function valueOf(row, key) {
    var cell = row.querySelector('td[data-key="' + key + '"]');
    return cell ? cell.getAttribute("data-value") : "";
  }

  // Numbers compare as numbers, text with numeric awareness (M4C16 < M10C16); blanks always go last.
  // Every row is reordered, but only the shown ones are seen: sorting acts within the chosen group.
  // dir: "ascending" or "descending"; without it, ascending first and reversed on the next click.
  function sortBy(th, dir) {
    var key = th.getAttribute("data-key");
    var numeric = th.getAttribute("data-type") === "number";
    dir = dir || (th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending");
    var sign = dir === "ascending" ? 1 : -1;
    headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var sorted = rows.slice().sort(function (ra, rb) {
      var a = valueOf(ra, key), b = valueOf(rb, key);
      var tie = Number(ra.getAttribute("data-order")) - Number(rb.getAttribute("data-order"));
      if (a === "" || b === "") { return a === b ? tie : (a === "" ? 1 : -1); }
      var d = numeric ? parseFloat(a) - parseFloat(b)
                      : a.localeCompare(b, undefined, {numeric: true, sensitivity: "base"});
      return d !== 0 ? sign * d : tie;
    });
    sorted.forEach(function (r) { tbody.appendChild(r); });
  }

  headers.forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); writeState(); });
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(th); writeState(); }
    });
  });

  function selectedGroup() {
    return groupSel.options[groupSel.selectedIndex];
  }

  // A column empty for every shown row only pushes the others off-screen. PSNR-RGB columns also stay
  // hidden in Y groups: a Y model's colour is bicubic, not the model's. The Model column always stays.
  // With no row shown there is nothing to judge by, so the columns stay as they were.
  function updateColumns(shown) {
    if (!shown.length) { return; }
    var channel = selectedGroup().getAttribute("data-channel");
    var empty = [], otherChannel = [];
    headers.forEach(function (th) {
      var key = th.getAttribute("data-key");
      var wrongChannel = th.getAttribute("data-channel") === "rgb" && channel === "y";
      var filled = shown.some(function (r) { return valueOf(r, key) !== ""; });
      var hide = key !== "method" && (wrongChannel || !filled);
      th.hidden = hide;
      cellsByKey[key].forEach(function (c) { c.hidden = hide; });
      if (hide) { (wrongChannel ? otherChannel : empty).push(th.getAttribute("data-label")); }
    });
    var notes = [];
    if (empty.length) { notes.push("Hidden, empty for every shown row: " + empty.join(", ") + "."); }
    if (otherChannel.length) { notes.push("Hidden in Y groups: " + otherChannel.join(", ") + "."); }
    hiddenNote.textContent = notes.join(" ");
  }

  // Every whitespace-separated term must occur in the row's visible text (case-insensitive).
  function applyFilter() {
    var terms = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var method = methodSel.value, group = groupSel.value, shown = [];
    rows.forEach(function (r) {
      var text = r.textContent.toLowerCase();
      var ok = terms.every(function (t) { return text.indexOf(t) !== -1; });
      if (method && r.getAttribute("data-method") !== method) { ok = false; }
      if (group && (r.getAttribute("data-groups") || "").split(" ").indexOf(group) === -1) { ok = false; }
      if (!showPaper.checked && r.getAttribute("data-kind") === "paper") { ok = false; }
      r.hidden = !ok;
      if (ok) { shown.push(r); }
    });
    count.textContent = shown.length + " of " + rows.length + " rows";
    convention.textContent = selectedGroup().getAttribute("data-convention");
    budgetNote.textContent = selectedGroup().getAttribute("data-budget") || "";
    budgetNote.hidden = !budgetNote.textContent;
    updateColumns(shown);
  }

  // The view in the URL. "group=all" is every group; a group, method or sort key the page does not have
  // leaves the default (and says so), so an old or mistyped link still opens a working page.
  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (o) { return o.value === value; });
  }
  function defaultValue(select) {
    var chosen = Array.prototype.filter.call(select.options, function (o) { return o.defaultSelected; });
    return chosen.length ? chosen[0].value : select.options[0].value;
  }
  function readState() {
    var params = new URLSearchParams(location.search), unknown = [];
    var group = params.get("group"), method = params.get("method") || "", key = params.get("sort");
    if (group === "all") { group = ""; }
    if (group !== null && !hasOption(groupSel, group)) { unknown.push("group \u201c" + group + "\u201d"); group = null; }
    groupSel.value = group === null ? defaultValue(groupSel) : group;
    if (method && !hasOption(methodSel, method)) { unknown.push("method \u201c" + method + "\u201d"); method = ""; }
    methodSel.value = method;
    filter.value = params.get("q") || "";
    showPaper.checked = params.get("paper") !== "0";
    var th = headers.filter(function (h) { return h.getAttribute("data-key") === key; })[0];
    if (th) { sortBy(th, params.get("dir") === "desc" ? "descending" : "ascending"); }
    else if (key) { unknown.push("sort column \u201c" + key + "\u201d"); }
    urlNote.textContent = unknown.length
      ? "This page has no " + unknown.join(", no ") + " (from its address): showing the default instead." : "";
    urlNote.hidden = !unknown.length;
  }
  function writeState() {
    var params = new URLSearchParams();
    params.set("group", groupSel.value || "all");
    if (filter.value) { params.set("q", filter.value); }
    if (methodSel.value) { params.set("method", methodSel.value); }
    if (!showPaper.checked) { params.set("paper", "0"); }
    var sorted = headers.filter(function (h) { return h.hasAttribute("aria-sort"); })[0];
    if (sorted) {
      params.set("sort", sorted.getAttribute("data-key"));
      params.set("dir", sorted.getAttribute("aria-sort") === "descending" ? "desc" : "asc");
    }
    try { history.replaceState(history.state, "", "?" + params.toString() + location.hash); }
    catch (e) { /* a sandboxed frame may refuse: the view still works, only the address does not follow */ }
  }
  function onChange() { applyFilter(); writeState(); }
  filter.addEventListener("input", onChange);
  methodSel.addEventListener("change", onChange);
  groupSel.addEventListener("change", onChange);
  showPaper.addEventListener("change", onChange);
  readState();
  applyFilter();
  writeState();

  // A "details" link opens its run's panel (a closed <details> would hide the target).
  function openFromHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (el && el.tagName === "DETAILS") { el.open = true; }
  }
  window.addEventListener("hashchange", openFromHash);
  openFromHash();
})();
