"use strict";
// The MIS unit browser (built by mis.browser). Data files are scripts that call
// MIS.register(key, data): browsers block fetch() of file:// URLs but load script tags, so the
// folder works straight from disk. One model's scores are held at a time; a layer's image lists are
// loaded when one of its units is opened, and images only for the opened unit.

const MIS = {
  data: new Map(),
  register(key, value) {
    this.data.set(key, value);
  },
  load(key, src) {
    if (this.data.has(key)) return Promise.resolve(this.data.get(key));
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => (this.data.has(key) ? resolve(this.data.get(key)) : reject(new Error(`${src} did not register ${key}`)));
      script.onerror = () => reject(new Error(`cannot load ${src}`));
      document.head.appendChild(script);
    });
  },
};

const INDEX = JSON.parse(document.getElementById("index-data").textContent);
const PAGE_SIZE = 100;

function fixed(digits) {
  return (value) => (value === null || value === undefined ? "–" : value.toFixed(digits));
}

// Ascending order of ids by value (numbers or strings), missing values last whatever the direction,
// ties by id so that every sort is deterministic.
function comparator(value, descending) {
  return (a, b) => {
    const x = value(a);
    const y = value(b);
    if (x === null || y === null) return (x === null) - (y === null) || a - b;
    const order = typeof x === "string" ? x.localeCompare(y) : x - y;
    return (descending ? -order : order) || a - b;
  };
}

// A table of row ids with clickable, sortable headers and optional paging. A column has a key, a
// label, value(id) to sort by, optional format(id) to show, numeric and descendingFirst flags.
class SortableTable {
  constructor(table, columns, { onSelect, pageSize = Number.MAX_SAFE_INTEGER, pager = null } = {}) {
    this.table = table;
    this.columns = columns;
    this.onSelect = onSelect;
    this.pageSize = pageSize;
    this.pager = pager;
    this.ids = [];
    this.sortKey = null;
    this.descending = false;
    this.page = 0;
    this.selected = null;
    this.renderHead();
    this.body = table.createTBody();
  }

  renderHead() {
    const row = this.table.createTHead().insertRow();
    for (const column of this.columns) {
      const th = document.createElement("th");
      th.dataset.key = column.key;
      th.textContent = column.label;
      th.title = column.title || `sort by ${column.label}`;
      th.tabIndex = 0;
      if (column.numeric) th.classList.add("numeric");
      th.addEventListener("click", () => this.sortBy(column.key));
      th.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          this.sortBy(column.key);
        }
      });
      row.appendChild(th);
    }
  }

  setRows(ids) {
    this.ids = ids;
    this.page = 0;
    this.applySort();
    this.render();
  }

  // Scores sort highest first on the first click, everything else in ascending order; a second
  // click on the same header reverses.
  sortBy(key) {
    const column = this.columns.find((c) => c.key === key);
    this.descending = key === this.sortKey ? !this.descending : Boolean(column.descendingFirst);
    this.sortKey = key;
    this.page = 0;
    this.applySort();
    this.render();
  }

  applySort() {
    if (this.sortKey === null) return;
    const column = this.columns.find((c) => c.key === this.sortKey);
    this.ids.sort(comparator(column.value, this.descending));
  }

  showPage(page) {
    this.page = Math.max(0, Math.min(page, Math.ceil(this.ids.length / this.pageSize) - 1));
    this.render();
  }

  select(id) {
    this.selected = id;
    for (const row of this.body.rows) row.classList.toggle("selected", Number(row.dataset.id) === id);
    this.onSelect(id);
  }

  render() {
    const start = this.page * this.pageSize;
    const body = document.createElement("tbody");
    for (const id of this.ids.slice(start, start + this.pageSize)) {
      const row = body.insertRow();
      row.dataset.id = id;
      row.tabIndex = 0;
      row.classList.toggle("selected", id === this.selected);
      for (const column of this.columns) {
        const cell = row.insertCell();
        cell.dataset.key = column.key;
        cell.textContent = (column.format || column.value)(id);
        if (column.numeric) cell.classList.add("numeric");
      }
      row.addEventListener("click", () => this.select(id));
      row.addEventListener("keydown", (event) => event.key === "Enter" && this.select(id));
    }
    this.body.replaceWith(body);
    this.body = body;
    for (const th of this.table.tHead.rows[0].cells) {
      const sorted = th.dataset.key === this.sortKey;
      th.setAttribute("aria-sort", sorted ? (this.descending ? "descending" : "ascending") : "none");
    }
    if (this.pager) this.renderPager(start);
  }

  renderPager(start) {
    const end = Math.min(start + this.pageSize, this.ids.length);
    const button = (label, page, disabled) => {
      const element = document.createElement("button");
      element.type = "button";
      element.textContent = label;
      element.disabled = disabled;
      element.addEventListener("click", () => this.showPage(page));
      return element;
    };
    const text = document.createElement("span");
    text.textContent = this.ids.length ? `${start + 1}–${end} of ${this.ids.length}` : "no units";
    this.pager.replaceChildren(
      button("◀", this.page - 1, start === 0),
      text,
      button("▶", this.page + 1, end >= this.ids.length),
    );
  }
}

const state = { model: null, data: null, layer: null, unit: null };

function setStatus(message) {
  document.getElementById("status").textContent = message;
}

function range(n) {
  return Array.from({ length: n }, (_, i) => i);
}

const models = INDEX.models;
const modelTable = new SortableTable(
  document.getElementById("models"),
  [
    { key: "model", label: "model", value: (i) => models[i].model },
    { key: "mean_mis", label: "mean MIS", value: (i) => models[i].mean_mis, format: (i) => fixed(3)(models[i].mean_mis), numeric: true, descendingFirst: true },
    { key: "median_mis", label: "median", value: (i) => models[i].median_mis, format: (i) => fixed(3)(models[i].median_mis), numeric: true, descendingFirst: true },
    { key: "p05_mis", label: "5 %", value: (i) => models[i].p05_mis, format: (i) => fixed(3)(models[i].p05_mis), numeric: true, descendingFirst: true },
    { key: "p95_mis", label: "95 %", value: (i) => models[i].p95_mis, format: (i) => fixed(3)(models[i].p95_mis), numeric: true, descendingFirst: true },
    { key: "mean_hard_accuracy", label: "hard accuracy", value: (i) => models[i].mean_hard_accuracy, format: (i) => fixed(3)(models[i].mean_hard_accuracy), numeric: true, descendingFirst: true },
    { key: "n_layers", label: "layers", value: (i) => models[i].n_layers, numeric: true },
    { key: "n_units", label: "units", value: (i) => models[i].n_units, numeric: true, title: "non-constant units" },
    { key: "n_constant", label: "constant", value: (i) => models[i].n_constant, numeric: true, title: "constant units (excluded from the statistics)" },
  ],
  { onSelect: openModel },
);

const layerCell = (column, digits) => ({
  value: (i) => state.data.layers[column][i],
  format: digits === undefined ? undefined : (i) => fixed(digits)(state.data.layers[column][i]),
  numeric: true,
});
const layerTable = new SortableTable(
  document.getElementById("layers"),
  [
    { key: "index", label: "#", value: (i) => i, numeric: true, title: "sort by position in the network" },
    { key: "name", label: "layer", value: (i) => state.data.layers.name[i] },
    { key: "type", label: "type", value: (i) => state.data.layers.type[i] },
    { key: "channels", label: "units", ...layerCell("channels") },
    { key: "depth", label: "depth", ...layerCell("depth", 2), title: "sort by relative depth" },
    { key: "mis", label: "mean MIS", ...layerCell("mis", 3), descendingFirst: true },
    { key: "hard", label: "hard accuracy", ...layerCell("hard", 3), descendingFirst: true },
  ],
  { onSelect: (i) => filterLayer(i) },
);

const units = () => state.data.units;
const unitTable = new SortableTable(
  document.getElementById("units"),
  [
    { key: "layer", label: "layer", value: (i) => units().layer[i], format: (i) => state.data.layers.name[units().layer[i]], title: "sort by position in the network" },
    { key: "unit", label: "unit", value: (i) => units().unit[i], numeric: true },
    { key: "type", label: "type", value: (i) => state.data.layers.type[units().layer[i]] },
    { key: "depth", label: "depth", value: (i) => state.data.layers.depth[units().layer[i]], format: (i) => fixed(2)(state.data.layers.depth[units().layer[i]]), numeric: true },
    { key: "mis", label: "MIS", value: (i) => units().mis[i], format: (i) => fixed(3)(units().mis[i]), numeric: true, descendingFirst: true },
    { key: "hard", label: "hard accuracy", value: (i) => units().hard[i], format: (i) => fixed(2)(units().hard[i]), numeric: true, descendingFirst: true },
    { key: "constant", label: "constant", value: (i) => units().constant[i], format: (i) => (units().constant[i] ? "yes" : ""), title: "max − min activation below the threshold" },
  ],
  { onSelect: openUnit, pageSize: PAGE_SIZE, pager: document.getElementById("units-pager") },
);

async function openModel(index) {
  const entry = models[index];
  setStatus(`loading ${entry.model} …`);
  try {
    state.data = await MIS.load(`${entry.key}/units`, `data/${entry.key}/units.js`);
  } catch (error) {
    setStatus(error.message);
    return;
  }
  state.model = entry;
  for (const element of document.querySelectorAll(".model-name")) element.textContent = entry.model;
  document.getElementById("layers-section").hidden = false;
  document.getElementById("units-section").hidden = false;
  document.getElementById("unit-section").hidden = true;
  layerTable.selected = null;
  layerTable.setRows(range(state.data.layers.name.length));
  filterLayer(null);
  setStatus("");
}

function filterLayer(layer) {
  state.layer = layer;
  document.getElementById("layer-filter").textContent = layer === null ? "" : `in ${state.data.layers.name[layer]}`;
  document.getElementById("all-layers").hidden = layer === null;
  showUnits();
}

function showUnits() {
  const hideConstant = document.getElementById("hide-constant").checked;
  const ids = range(units().mis.length).filter(
    (i) => (state.layer === null || units().layer[i] === state.layer) && !(hideConstant && units().constant[i]),
  );
  unitTable.setRows(ids);
}

function thumbnail(image, paths, className) {
  const img = document.createElement("img");
  img.src = `images/${image}.jpg`;
  img.alt = paths[image] || `image ${image}`;
  img.title = img.alt;
  img.width = INDEX.thumbnail;
  img.height = INDEX.thumbnail;
  img.className = `thumb ${className}`;
  return img;
}

function strip(title, images, paths, className) {
  const heading = document.createElement("h3");
  heading.textContent = title;
  const row = document.createElement("div");
  row.className = "strip";
  row.append(...images.map((image) => thumbnail(image, paths, className)));
  return [heading, row];
}

function taskSide(caption, images, paths, className, layout) {
  const side = document.createElement("div");
  side.className = "side";
  const grid = document.createElement("div");
  grid.className = layout;
  grid.append(...images.map((image) => thumbnail(image, paths, className)));
  const text = document.createElement("p");
  text.className = "caption";
  text.textContent = caption;
  side.append(grid, text);
  return side;
}

// One 2-AFC task as a participant sees it: the least activating references on the left, the most
// activating on the right, and two queries in the middle (framed by the side they come from).
function taskLayout(task, paths) {
  const heading = document.createElement("h3");
  heading.textContent = `Task 1 of ${INDEX.n_tasks}: which query belongs to the right-hand references?`;
  const layout = document.createElement("div");
  layout.className = "task";
  const queries = document.createElement("div");
  queries.className = "queries";
  queries.append(thumbnail(task.qpos, paths, "positive"), thumbnail(task.qneg, paths, "negative"));
  const middle = document.createElement("div");
  middle.className = "side";
  const caption = document.createElement("p");
  caption.className = "caption";
  caption.textContent = "queries (green: from the most activating side)";
  middle.append(queries, caption);
  layout.append(
    taskSide(`negative references (${task.neg.length} least activating)`, task.neg, paths, "negative", "refs"),
    middle,
    taskSide(`positive references (${task.pos.length} most activating)`, task.pos, paths, "positive", "refs"),
  );
  return [heading, layout];
}

async function openUnit(id) {
  const layer = units().layer[id];
  const channel = units().unit[id];
  const section = document.getElementById("unit-section");
  section.hidden = false;
  document.getElementById("unit-title").textContent = `${state.model.model} · ${state.data.layers.name[layer]} · unit ${channel}`;
  document.getElementById("unit-scores").textContent =
    `MIS ${fixed(3)(units().mis[id])} · hard accuracy ${fixed(2)(units().hard[id])} · ${state.data.layers.type[layer]} layer at ` +
    `relative depth ${fixed(2)(state.data.layers.depth[layer])}${units().constant[id] ? " · constant unit (excluded from model statistics)" : ""}`;
  const images = document.getElementById("unit-images");
  images.replaceChildren();
  state.unit = id;
  if (!units().images[id]) {
    images.textContent = "Images are kept only for the highest- and lowest-MIS units of each layer.";
    return;
  }
  let detail;
  try {
    detail = await MIS.load(`${state.model.key}/layer-${layer}`, `data/${state.model.key}/layer-${layer}.js`);
  } catch (error) {
    setStatus(error.message);
    return;
  }
  if (state.unit !== id) return; // another unit was opened meanwhile
  const entry = detail.units[channel];
  images.append(
    ...strip(`${entry.top.length} most activating images`, entry.top, detail.paths, "positive"),
    ...strip(`${entry.bottom.length} least activating images`, entry.bottom, detail.paths, "negative"),
    ...taskLayout(entry.task, detail.paths),
  );
  section.scrollIntoView({ block: "nearest" });
}

document.getElementById("hide-constant").addEventListener("change", showUnits);
document.getElementById("all-layers").addEventListener("click", () => {
  layerTable.select(null);
});
modelTable.setRows(range(models.length));
if (models.length) modelTable.select(0);
