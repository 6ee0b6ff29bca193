// Draws the chaos report's charts as inline SVG from the page's #report-data JSON.
(function () {
  'use strict';
  const data = JSON.parse(document.getElementById('report-data').textContent);
  // The SVG namespace, taken from an element the HTML parser made.
  const probe = document.createElement('div');
  probe.innerHTML = '<svg></svg>';
  const ns = probe.firstChild.namespaceURI;
  const colours = { ok: '#16a34a', failed: '#dc2626', rate: '#dc2626', p50: '#2563eb',
                    p99: '#ea580c' };
  const margin = { left: 58, right: 18, top: 10, bottom: 26 };
  const buckets = data.ok.length;
  const span = Math.max(data.finished, buckets, data.fault_phase_end, 1);

  function el(name, attrs, parent) {
    const node = document.createElementNS(ns, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, content, attrs) {
    const node = el('text', Object.assign({ x: x, y: y }, attrs || {}), parent);
    node.textContent = content;
    return node;
  }
  function clock(s) {
    const m = Math.floor(s / 60);
    const rest = Math.round(s - m * 60);
    return m + ':' + (rest < 10 ? '0' : '') + rest;
  }
  function niceStep(range, count) {
    const raw = range / Math.max(count, 1);
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const f of [1, 2, 2.5, 5, 10]) if (f * power >= raw) return f * power;
    return 10 * power;
  }
  function formatNumber(v) {
    if (v >= 1000) return (v / 1000).toLocaleString('en', { maximumFractionDigits: 1 }) + 'k';
    return v.toLocaleString('en', { maximumFractionDigits: 2 });
  }
  function faultTitle(f) {
    return f.type + ' on ' + f.target + ': ' + f.start.toFixed(1) + ' s to ' +
      f.end.toFixed(1) + ' s, ' + (f.recovered === null ? 'never recovered'
        : 'serving again at ' + f.recovered.toFixed(1) + ' s');
  }

  function frame(container, height) {
    const width = Math.max(container.clientWidth, 480);
    const svg = el('svg', { width: width, height: height, role: 'img' }, container);
    const plot = { x0: margin.left, x1: width - margin.right, y0: margin.top,
                   y1: height - margin.bottom };
    plot.x = function (t) { return plot.x0 + (t / span) * (plot.x1 - plot.x0); };
    return { svg: svg, plot: plot };
  }

  function xAxis(svg, plot, labels) {
    const step = niceStep(span, Math.max(2, Math.floor((plot.x1 - plot.x0) / 90)));
    for (let t = 0; t <= span + 1e-9; t += step) {
      const x = plot.x(t);
      el('line', { class: 'grid', x1: x, x2: x, y1: plot.y0, y2: plot.y1 }, svg);
      if (labels) text(svg, x, plot.y1 + 16, clock(t), { 'text-anchor': 'middle' });
    }
    el('line', { class: 'axis', x1: plot.x0, x2: plot.x1, y1: plot.y1, y2: plot.y1 }, svg);
  }

  function faultBands(svg, plot) {
    for (const f of data.faults) {
      const colour = data.colours[f.type];
      const x0 = plot.x(f.start);
      const band = el('rect', { class: 'fault-band', x: x0, y: plot.y0,
        width: Math.max(plot.x(f.end) - x0, 2), height: plot.y1 - plot.y0, fill: colour,
        'fill-opacity': 0.16, 'data-type': f.type, 'data-target': f.target }, svg);
      el('title', {}, band).textContent = faultTitle(f);
      if (f.recovered !== null) {
        const x = plot.x(f.recovered);
        el('line', { class: 'recovery-mark', x1: x, x2: x, y1: plot.y0, y2: plot.y1,
                     stroke: colour }, svg);
      }
    }
    const x = plot.x(data.fault_phase_end);
    el('line', { class: 'phase-end', x1: x, x2: x, y1: plot.y0, y2: plot.y1 }, svg);
  }

  // Fault windows as labelled bars in lanes, so that no two labels overlap: a label sits
  // inside its bar when it fits, else just right of it.
  function timeline(container) {
    container.textContent = '';
    const made = frame(container, 0);
    const svg = made.svg;
    const plot = made.plot;
    svg.setAttribute('class', 'fault-timeline');
    const laneHeight = 20;
    const laneEnds = [];
    const faults = data.faults.slice().sort(function (a, b) { return a.start - b.start; });
    for (const f of faults) {
      const x0 = plot.x(f.start);
      const x1 = Math.max(plot.x(f.end), x0 + 2);
      const bar = el('rect', { class: 'fault-bar', x: x0, width: x1 - x0, height: laneHeight - 6,
        rx: 2, fill: data.colours[f.type] }, svg);
      el('title', {}, bar).textContent = faultTitle(f);
      const label = text(svg, 0, 0, f.type + ' · ' + f.target, { class: 'fault-label' });
      const width = label.getComputedTextLength();
      const inside = width + 8 <= x1 - x0;
      // Outside a bar a label goes right of it, or left of it at the chart's right edge.
      let labelX = inside ? x0 + 4 : x1 + 4;
      if (!inside && labelX + width > plot.x1 + margin.right) labelX = x0 - 4 - width;
      if (inside) label.setAttribute('style', 'fill:#fff');
      const left = Math.min(x0, labelX);
      let lane = laneEnds.findIndex(function (end) { return end < left - 8; });
      if (lane < 0) { lane = laneEnds.length; laneEnds.push(0); }
      laneEnds[lane] = Math.max(x1, labelX + width);
      const y = margin.top + lane * laneHeight;
      bar.setAttribute('y', y + 2);
      label.setAttribute('x', labelX);
      label.setAttribute('y', y + laneHeight - 8);
    }
    const height = margin.top + Math.max(laneEnds.length, 1) * laneHeight + 18;
    svg.setAttribute('height', height);
    const x = plot.x(data.fault_phase_end);
    el('line', { class: 'phase-end', x1: x, x2: x, y1: margin.top - 4, y2: height - 14 }, svg);
    const nearEnd = x + 110 > plot.x1;
    text(svg, nearEnd ? x - 5 : x + 5, height - 3, 'fault phase end',
         { class: 'phase-end-label', 'text-anchor': nearEnd ? 'end' : 'start' });
  }

  // One chart: series of per-second values, stacked or not, on a linear or log y axis.
  function chart(container, spec) {
    container.textContent = '';
    const heading = document.createElement('h3');
    heading.textContent = spec.title;
    const legend = document.createElement('span');
    legend.className = 'legend';
    for (const s of spec.series) {
      const item = document.createElement('span');
      item.className = 'item';
      const mark = document.createElement('span');
      mark.className = 'line-swatch';
      mark.style.borderColor = s.colour;
      item.appendChild(mark);
      item.appendChild(document.createTextNode(s.name));
      legend.appendChild(item);
    }
    heading.appendChild(legend);
    container.appendChild(heading);

    const made = frame(container, 190);
    const svg = made.svg;
    svg.setAttribute('class', 'chart-svg');
    const plot = made.plot;
    // Each series' line (top) and, for a stacked one, the series below it (base).
    const tops = spec.series.map(function () { return []; });
    const bases = spec.series.map(function () { return []; });
    let max = 0;
    let min = Infinity;
    for (let i = 0; i < buckets; i++) {
      let base = 0;
      spec.series.forEach(function (s, k) {
        const v = s.values[i];
        if (v === null || v === undefined) { tops[k].push(null); bases[k].push(null); return; }
        const top = spec.stacked ? base + v : v;
        bases[k].push(spec.stacked ? base : 0);
        if (spec.stacked) base = top;
        tops[k].push(top);
        max = Math.max(max, top);
        if (v > 0) min = Math.min(min, v);
      });
    }
    let y;
    const ticks = [];
    if (spec.log) {
      const lo = Math.pow(10, Math.floor(Math.log10(isFinite(min) ? min : 1)));
      const hi = Math.pow(10, Math.max(Math.ceil(Math.log10(Math.max(max, lo * 10))), 0));
      y = function (v) {
        const c = Math.max(v, lo);
        return plot.y1 - (Math.log10(c / lo) / Math.log10(hi / lo)) * (plot.y1 - plot.y0);
      };
      for (let v = lo; v <= hi * 1.0001; v *= 10) ticks.push(v);
    } else {
      const top = Math.max(max, spec.minMax || 1);
      const step = niceStep(top, 4);
      const hi = Math.min(Math.ceil(top / step) * step, spec.cap || Infinity);
      y = function (v) { return plot.y1 - (v / hi) * (plot.y1 - plot.y0); };
      for (let v = 0; v <= hi + 1e-9; v += step) ticks.push(v);
    }
    for (const v of ticks) {
      el('line', { class: 'grid', x1: plot.x0, x2: plot.x1, y1: y(v), y2: y(v) }, svg);
      text(svg, plot.x0 - 6, y(v) + 4, formatNumber(v) + (spec.unit || ''),
           { 'text-anchor': 'end' });
    }
    xAxis(svg, plot, true);
    faultBands(svg, plot);

    const point = function (x, v) { return x.toFixed(1) + ',' + y(v).toFixed(1); };
    spec.series.forEach(function (s, k) {
      let line = '';
      let area = '';
      let run = [];
      const flush = function () {
        if (!run.length) return;
        line += 'M' + run.map(function (p) { return point(p.x, p.top); }).join('L');
        if (s.fill)
          area += 'M' + run.map(function (p) { return point(p.x, p.top); }).join('L') + 'L' +
            run.slice().reverse().map(function (p) { return point(p.x, p.base); }).join('L') +
            'Z';
        run = [];
      };
      for (let i = 0; i < buckets; i++) {
        if (tops[k][i] === null) { flush(); continue; }
        run.push({ x: plot.x(i + 0.5), top: tops[k][i], base: bases[k][i] });
      }
      flush();
      if (s.fill && area)
        el('path', { class: 'series-area', d: area, fill: s.colour, 'fill-opacity': 0.25 }, svg);
      if (line)
        el('path', { class: 'series', d: line, fill: 'none', stroke: s.colour,
                     'stroke-width': 1.6, 'stroke-linejoin': 'round',
                     'data-series': s.name }, svg);
    });
    hover(container, svg, plot, spec);
  }

  // A cursor line and the second's values under the pointer.
  function hover(container, svg, plot, spec) {
    const cursor = el('line', { class: 'cursor', y1: plot.y0, y2: plot.y1,
                                visibility: 'hidden' }, svg);
    const tip = document.createElement('div');
    tip.className = 'tip';
    container.appendChild(tip);
    svg.addEventListener('mousemove', function (event) {
      const box = svg.getBoundingClientRect();
      const t = ((event.clientX - box.left - plot.x0) / (plot.x1 - plot.x0)) * span;
      const i = Math.floor(t);
      if (t < 0 || i >= buckets) { cursor.setAttribute('visibility', 'hidden');
                                   tip.style.display = 'none'; return; }
      const x = plot.x(i + 0.5);
      cursor.setAttribute('x1', x);
      cursor.setAttribute('x2', x);
      cursor.setAttribute('visibility', 'visible');
      const lines = [clock(i) + ' to ' + clock(i + 1)];
      for (const s of spec.series) {
        const v = s.values[i];
        lines.push(s.name + ': ' + (v === null || v === undefined ? '–'
          : formatNumber(v) + (spec.unit || '')));
      }
      for (const f of data.faults)
        if (f.start < i + 1 && f.end > i) lines.push(f.type + ' on ' + f.target);
      tip.textContent = lines.join('\n');
      tip.style.display = 'block';
      const left = x + 12 + tip.offsetWidth > box.width ? x - 12 - tip.offsetWidth : x + 12;
      tip.style.left = left + 'px';
      tip.style.top = (box.top - container.getBoundingClientRect().top + plot.y0) + 'px';
    });
    svg.addEventListener('mouseleave', function () {
      cursor.setAttribute('visibility', 'hidden');
      tip.style.display = 'none';
    });
  }

  function faultLegend() {
    const legend = document.getElementById('fault-legend');
    legend.textContent = '';
    const label = document.createElement('strong');
    label.textContent = 'Fault types:';
    legend.appendChild(label);
    for (const type of Object.keys(data.colours)) {
      const item = document.createElement('span');
      item.className = 'item';
      const mark = document.createElement('span');
      mark.className = 'swatch';
      mark.style.background = data.colours[type];
      item.appendChild(mark);
      item.appendChild(document.createTextNode(type));
      legend.appendChild(item);
    }
    if (!data.faults.length) legend.appendChild(document.createTextNode(' none'));
  }

  function draw() {
    faultLegend();
    timeline(document.getElementById('timeline'));
    chart(document.getElementById('throughput'), {
      title: 'Throughput (answers per second)', stacked: true,
      series: [{ name: 'ok', values: data.ok, colour: colours.ok, fill: true },
               { name: 'failed', values: data.failed, colour: colours.failed, fill: true }] });
    const rate = data.ok.map(function (ok, i) {
      const all = ok + data.failed[i];
      return all ? (100 * data.failed[i]) / all : null;
    });
    chart(document.getElementById('error-rate'), {
      title: 'Error rate', unit: '%', minMax: 1, cap: 100,
      series: [{ name: 'failed / answered', values: rate, colour: colours.rate, fill: true }] });
    chart(document.getElementById('latency'), {
      title: 'Latency (log scale)', unit: ' ms', log: true,
      series: [{ name: 'p50', values: data.p50, colour: colours.p50 },
               { name: 'p99', values: data.p99, colour: colours.p99 }] });
  }

  draw();
  let pending = null;
  window.addEventListener('resize', function () {
    clearTimeout(pending);
    pending = setTimeout(draw, 150);
  });
})();
