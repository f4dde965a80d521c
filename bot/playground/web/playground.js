// The playground page: draws what the Slack stand-in holds for the acting person, and sends what they do
// to /api/… (bot/playground/web_app.py), which turns it into the signed requests Slack would send the bot.
// Plain JavaScript, no build step. Text from the bot is never put in the page as HTML: every node is built.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const S = {
    boot: null,
    user: null,
    state: null,
    etag: "",
    pane: "channel", // channel | home
    homeTab: "home", // home | messages
    thread: null, // ts of the open thread's parent
    typed: {}, // view_id → {block_id: value}: what was typed, kept across re-renders and views.update
    localErrors: {}, // view_id → {block_id: message}: required fields left empty, the submit's answer
    modalKey: "",
    modalViewId: "",
    lastFocus: null,
    pollToken: 0,
    pollAbort: null,
    sandboxSig: "",
    sandboxBusy: "",
    region: "",
    rendered: false,
    knownParents: new Set(),
  };

  const REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"];

  // ------------------------------------------------------------------ DOM helpers

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "value") el.value = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(el, child);
      else if (child instanceof Node) el.append(child);
      else el.append(document.createTextNode(String(child)));
    }
  }

  async function api(path, body, signal) {
    const options = { signal };
    if (body !== undefined) {
      options.method = "POST";
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) throw new Error((data && data.error) || `HTTP ${response.status}`);
    return data;
  }

  let toastTimer = null;
  function toast(text) {
    const el = $("toast");
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (el.hidden = true), 4000);
  }

  function setBusy(button, busy) {
    if (!button) return;
    if (busy) button.setAttribute("aria-busy", "true");
    else button.removeAttribute("aria-busy");
    button.disabled = busy;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // ------------------------------------------------------------------ mrkdwn

  const EMOJI = {
    white_check_mark: "✅", x: "❌", warning: "⚠️", hourglass: "⌛", hourglass_flowing_sand: "⏳",
    heavy_minus_sign: "➖", point_right: "👉", ballot_box_with_check: "☑️", mag: "🔍",
    link: "🔗", thread: "🧵", tada: "🎉", raising_hand: "🙋", no_entry: "⛔", heavy_multiplication_x: "✖️",
    electric_plug: "🔌", one: "1️⃣", two: "2️⃣", three: "3️⃣", four: "4️⃣", five: "5️⃣", lock: "🔒",
    key: "🔑", rocket: "🚀", wave: "👋", information_source: "ℹ️", heavy_check_mark: "✔️", red_circle: "🔴",
    large_green_circle: "🟢", large_yellow_circle: "🟡", arrows_counterclockwise: "🔄", clipboard: "📋",
    page_facing_up: "📄", bust_in_silhouette: "👤", busts_in_silhouette: "👥", bell: "🔔", eyes: "👀",
    hammer_and_wrench: "🛠️", gear: "⚙️", cloud: "☁️", calendar: "📅", memo: "📝", inbox_tray: "📥",
    outbox_tray: "📤", white_large_square: "⬜", black_square_button: "🔲", no_entry_sign: "🚫",
    heavy_plus_sign: "➕", pencil2: "✏️", wastebasket: "🗑️", question: "❓", exclamation: "❗",
  };

  const decode = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  const emojify = (s) => s.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] || m);

  function userName(id) {
    const user = S.state && S.state.users[id];
    return user ? user.real_name || user.name : id;
  }

  function angle(content) {
    const bar = content.indexOf("|");
    const target = bar >= 0 ? content.slice(0, bar) : content;
    const label = bar >= 0 ? content.slice(bar + 1) : "";
    if (target.startsWith("@")) return h("span", { class: "mention" }, "@" + (label ? decode(label) : userName(target.slice(1))));
    if (target.startsWith("#")) return h("span", { class: "mention" }, "#" + (label ? decode(label) : target.slice(1)));
    if (target.startsWith("!subteam^")) {
      const id = target.slice("!subteam^".length);
      const handle = (S.state && S.state.usergroups[id]) || id;
      return h("span", { class: "mention" }, label ? decode(label) : "@" + handle);
    }
    if (target.startsWith("!date^")) return document.createTextNode(decode(label || target.split("^")[1] || ""));
    if (target.startsWith("!")) return h("span", { class: "mention" }, "@" + (label ? decode(label) : target.slice(1)));
    const url = decode(target);
    if (/^(https?:|mailto:)/i.test(url)) {
      return h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, decode(label || target));
    }
    return document.createTextNode(decode(label || target));
  }

  function angleText(content) {
    const node = angle(content);
    return node.textContent;
  }

  function plainPart(text, tokens) {
    const frag = document.createDocumentFragment();
    const pieces = text.split(/\uE000(\d+)\uE001/);
    pieces.forEach((piece, i) => {
      if (i % 2 === 0) {
        if (piece) frag.append(document.createTextNode(emojify(decode(piece))));
        return;
      }
      const token = tokens[Number(piece)];
      if (token.code !== undefined) frag.append(h("code", {}, decode(token.code)));
      else frag.append(angle(token.angle));
    });
    return frag;
  }

  const STYLES = { "*": "strong", _: "em", "~": "del" };
  // As in Slack, *bold* needs a boundary on both sides: not snake_case, not window.__name.
  const OPENS_AFTER = /[\s([{"'\u2018\u201c>\uE001]/;
  const CLOSES_BEFORE = /[\s)\]}"'\u2019\u201d.,;:!?<\uE000-]/;

  function styled(text, tokens) {
    const frag = document.createDocumentFragment();
    const re = /([*_~])(\S(?:[^\n]*?\S)?)\1/g;
    let pos = 0;
    let match;
    while ((match = re.exec(text))) {
      const before = match.index > 0 ? text[match.index - 1] : "";
      const after = text[match.index + match[0].length] || "";
      const marker = match[1];
      const inner = match[2];
      if (
        (before && !OPENS_AFTER.test(before)) ||
        (after && !CLOSES_BEFORE.test(after)) ||
        inner.startsWith(marker) ||
        inner.endsWith(marker)
      ) {
        re.lastIndex = match.index + 1;
        continue;
      }
      frag.append(plainPart(text.slice(pos, match.index), tokens));
      const el = document.createElement(STYLES[match[1]]);
      el.append(styled(match[2], tokens));
      frag.append(el);
      pos = match.index + match[0].length;
    }
    frag.append(plainPart(text.slice(pos), tokens));
    return frag;
  }

  function inline(text) {
    const tokens = [];
    const hold = (token) => {
      tokens.push(token);
      return `\uE000${tokens.length - 1}\uE001`;
    };
    let s = text.replace(/`([^`\n]+)`/g, (m, code) => hold({ code }));
    s = s.replace(/<([^<>\n]+)>/g, (m, content) => hold({ angle: content }));
    return styled(s, tokens);
  }

  // Slack's mrkdwn → DOM nodes: ```pre```, `code`, *bold*, _italic_, ~strike~, <links|text>, <@mentions>,
  // <!date^…|fallback>, :emoji:. Entities (&amp; &lt; &gt;) are decoded into text nodes, never parsed as HTML.
  function mrkdwn(text) {
    const frag = document.createDocumentFragment();
    const source = String(text || "").replace(/[\uE000\uE001]/g, "");
    const parts = source.split("```");
    parts.forEach((part, i) => {
      const closed = i % 2 === 1 && i < parts.length - 1;
      if (closed) {
        const body = part.replace(/^\n/, "").replace(/<([^<>\n]+)>/g, (m, content) => angleText(content));
        frag.append(h("pre", {}, decode(body)));
      } else {
        frag.append(inline(i % 2 === 1 ? "```" + part : part));
      }
    });
    return frag;
  }

  function textObject(obj) {
    if (!obj) return document.createTextNode("");
    if (typeof obj === "string") return document.createTextNode(obj);
    if (obj.type === "mrkdwn") return mrkdwn(obj.text);
    return document.createTextNode(obj.emoji === false ? obj.text || "" : emojify(obj.text || ""));
  }

  const plainText = (obj) => (obj ? (typeof obj === "string" ? obj : obj.text || "") : "");

  // ------------------------------------------------------------------ Block Kit

  function renderBlocks(blocks, ctx) {
    return (blocks || []).map((block) => renderBlock(block, ctx));
  }

  function renderBlock(block, ctx) {
    switch (block.type) {
      case "section": {
        const main = h("div", { class: "section-main" });
        if (block.text) main.append(h("div", { class: "mrkdwn" }, textObject(block.text)));
        if (block.fields) main.append(h("div", { class: "fields" }, block.fields.map((f) => h("div", { class: "mrkdwn" }, textObject(f)))));
        const section = h("div", { class: "block section" }, main);
        if (block.accessory) section.append(renderElement(block.accessory, block, ctx));
        return section;
      }
      case "context":
        return h(
          "div",
          { class: "block context" },
          (block.elements || []).map((e) =>
            e.type === "image" ? h("span", { class: "image-alt" }, `[${e.alt_text || "image"}]`) : h("span", { class: "mrkdwn" }, textObject(e))
          )
        );
      case "actions":
        return h("div", { class: "block actions", role: "group", "aria-label": "Actions" }, (block.elements || []).map((e) => renderElement(e, block, ctx)));
      case "divider":
        return h("hr", { class: "divider" });
      case "header":
        return h("div", { class: "block header-block", role: "heading", "aria-level": "3" }, textObject(block.text));
      case "image":
        // Images are not fetched (the playground reaches no network): their description is shown.
        return h("div", { class: "block image-block" }, `[image: ${block.alt_text || block.title?.text || "no description"}]`);
      case "input":
        return renderInput(block, ctx);
      case "rich_text":
        return h("div", { class: "block mrkdwn" }, richText(block));
      default:
        return h("div", { class: "block context" }, `(a ${block.type} block the playground does not draw)`);
    }
  }

  function richText(block) {
    const out = [];
    for (const element of block.elements || []) {
      for (const item of element.elements || []) {
        if (item.type === "text") out.push(item.text);
        else if (item.type === "link") out.push(item.text || item.url);
        else if (item.type === "user") out.push("@" + userName(item.user_id));
        else if (item.type === "emoji") out.push(EMOJI[item.name] || `:${item.name}:`);
      }
      out.push("\n");
    }
    return out.join("");
  }

  function focusKey(block, element) {
    return `${block.block_id}/${element.action_id}`;
  }

  function renderElement(element, block, ctx) {
    const key = focusKey(block, element);
    switch (element.type) {
      case "button": {
        const style = element.style === "primary" ? " primary" : element.style === "danger" ? " danger" : "";
        const button = h(
          "button",
          { type: "button", class: "btn" + style, dataset: { focusKey: key }, "aria-label": element.accessibility_label || null },
          textObject(element.text)
        );
        button.addEventListener("click", () => {
          if (element.url) window.open(element.url, "_blank", "noopener");
          act(ctx, block, element, null, button);
        });
        return button;
      }
      case "static_select":
      case "overflow": {
        const label = plainText(element.placeholder) || (element.type === "overflow" ? "More actions" : "Select an option");
        const select = h(
          "select",
          { dataset: { focusKey: key }, "aria-label": label },
          h("option", { value: "" }, element.type === "overflow" ? "…" : label),
          allOptions(element).map((o) => h("option", { value: o.value }, plainText(o.text)))
        );
        if (element.initial_option) select.value = element.initial_option.value;
        select.addEventListener("change", () => {
          if (select.value) act(ctx, block, element, select.value, select);
        });
        return select;
      }
      default:
        return h("span", { class: "context" }, `(${element.type})`);
    }
  }

  function allOptions(element) {
    const options = [...(element.options || [])];
    for (const group of element.option_groups || []) options.push(...(group.options || []));
    return options;
  }

  async function act(ctx, block, element, option, control) {
    if (element.confirm) {
      const confirmed = await confirmDialog(element.confirm);
      if (!confirmed) return;
    }
    S.lastFocus = control;
    const body = { user: S.user, block_id: block.block_id, action_id: element.action_id };
    if (option !== null && option !== undefined) body.option = option;
    if (ctx.viewId) {
      body.view_id = ctx.viewId;
      body.values = readModalValues(ctx.viewId);
    } else {
      body.ts = ctx.ts;
    }
    setBusy(control, true);
    try {
      const answer = await api("/api/action", body);
      if (!answer.ok) toast(answer.error || "The app did not answer.");
    } catch (error) {
      toast(error.message);
    } finally {
      setBusy(control, false);
    }
  }

  // ------------------------------------------------------------------ messages

  function formatTime(ts) {
    return new Date(parseFloat(ts) * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function initials(name) {
    return name
      .split(/\s+/)
      .map((w) => w[0] || "")
      .join("")
      .slice(0, 2)
      .toUpperCase();
  }

  function formatSize(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    return `${(bytes / 1024).toFixed(bytes < 10240 ? 1 : 0)} KB`;
  }

  function fileCard(file) {
    return h(
      "div",
      { class: "file-card" },
      h("div", { class: "file-icon", "aria-hidden": "true" }, (file.filetype || "file").toUpperCase().slice(0, 4)),
      h(
        "div",
        { class: "file-meta" },
        h("div", { class: "file-name" }, file.title || file.name),
        h("div", { class: "file-sub" }, `${file.name} · ${file.pretty_type || file.filetype || "File"} · ${formatSize(file.size || 0)}`)
      ),
      h("a", { class: "btn small", href: file.download, download: file.name, "aria-label": `Download ${file.name}` }, "Download"),
      isTemplate(file) ? deployButton(file) : null
    );
  }

  // "Deploy in sandbox" next to the template in the thread, as the Sandbox AWS panel offers it too.
  function deployButton(file) {
    const button = h("button", { type: "button", class: "btn small primary", "aria-label": `Deploy ${file.name} in the sandbox` }, "Deploy in sandbox");
    button.addEventListener("click", () => {
      const region = S.region || S.state.sandbox.default_region;
      sandboxAction(`deploy-${file.id}`, "/api/sandbox/deploy", { file_id: file.id, region }, (s) => `Stack ${s.stack_status}: copy RoleArn from the Sandbox AWS panel`);
    });
    return button;
  }

  function messageElement(message, { ephemeral = false, inChannel = false } = {}) {
    const isBot = Boolean(message.bot_id);
    const author = isBot ? (message.bot_profile && message.bot_profile.name) || "ce-bot" : userName(message.user);
    const head = h(
      "div",
      { class: "msg-head" },
      h("span", { class: "author" }, author),
      isBot ? h("span", { class: "badge" }, "APP") : null,
      h("time", { datetime: new Date(parseFloat(message.ts) * 1000).toISOString() }, formatTime(message.ts)),
      message.edited ? h("span", { class: "edited" }, "(edited)") : null
    );
    const body = h("div", { class: "msg-body" });
    if (ephemeral) body.append(h("p", { class: "ephemeral-note" }, "👁 Only visible to you"));
    body.append(head);
    const ctx = { ts: message.ts };
    if (message.blocks && message.blocks.length) body.append(h("div", { class: "blocks" }, renderBlocks(message.blocks, ctx)));
    else if (message.text) body.append(h("div", { class: "msg-text mrkdwn" }, mrkdwn(message.text)));
    for (const file of message.files || []) body.append(fileCard(file));
    if (inChannel && message.reply_count) {
      const n = message.reply_count;
      body.append(
        h(
          "button",
          { type: "button", class: "replies", dataset: { focusKey: "replies" }, "aria-expanded": S.thread === message.ts ? "true" : "false", onclick: () => openThread(message.ts) },
          `${n} ${n === 1 ? "reply" : "replies"}`
        )
      );
    }
    return h(
      "article",
      { class: "msg" + (ephemeral ? " ephemeral" : ""), tabindex: "-1", dataset: { ts: message.ts } },
      h("div", { class: "avatar" + (isBot ? "" : " person"), "aria-hidden": "true" }, isBot ? "CE" : initials(author)),
      body
    );
  }

  // Keep unchanged messages as they are (focus, selection, scroll); rebuild only those that changed.
  function syncList(container, items, emptyText) {
    const nearBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 60;
    const existing = new Map();
    for (const el of [...container.children]) {
      if (el.dataset.key) existing.set(el.dataset.key, el);
      else el.remove();
    }
    const keep = new Set();
    let ref = container.firstElementChild;
    let added = false;
    for (const item of items) {
      let el = existing.get(item.key);
      if (el && el._sig !== item.sig) {
        const fresh = item.build();
        fresh.dataset.key = item.key;
        fresh._sig = item.sig;
        if (S.rendered) fresh.classList.add("flash");
        if (ref === el) ref = fresh;
        replaceKeepingFocus(el, fresh);
        el = fresh;
      } else if (!el) {
        el = item.build();
        el.dataset.key = item.key;
        el._sig = item.sig;
        added = true;
      }
      keep.add(el);
      if (el === ref) ref = ref.nextElementSibling;
      else container.insertBefore(el, ref);
    }
    for (const el of [...container.children]) if (!keep.has(el)) el.remove();
    if (!items.length && emptyText) container.append(h("p", { class: "empty" }, emptyText));
    if (added && (nearBottom || !S.rendered)) container.scrollTop = container.scrollHeight;
  }

  function replaceKeepingFocus(old, fresh) {
    const active = document.activeElement;
    if (!old.contains(active)) {
      old.replaceWith(fresh);
      return;
    }
    const key = active.dataset && active.dataset.focusKey;
    old.replaceWith(fresh);
    const target = key ? fresh.querySelector(`[data-focus-key="${CSS.escape(key)}"]`) : null;
    (target || fresh).focus();
  }

  const isTopLevel = (m) => !m.thread_ts || m.thread_ts === m.ts || m.subtype === "thread_broadcast";
  const byTs = (a, b) => parseFloat(a.ts) - parseFloat(b.ts);
  const sig = (m) => JSON.stringify(m) + (S.thread === m.ts ? "#open" : "");

  function renderChannel() {
    const st = S.state;
    const channel = S.boot.channel.id;
    const items = [
      ...st.messages.filter(isTopLevel).map((m) => ({ key: "m" + m.ts, sig: sig(m), build: () => messageElement(m, { inChannel: true }) })),
      ...st.ephemerals
        .filter((m) => !m.thread_ts && m.channel === channel)
        .map((m) => ({ key: "e" + m.ts, sig: sig(m), build: () => messageElement(m, { ephemeral: true }) })),
    ].sort((a, b) => parseFloat(a.key.slice(1)) - parseFloat(b.key.slice(1)));
    syncList($("channel-messages"), items, "No messages yet. Type /ce connect aws-org below to start a connection.");
    autoOpenThread();
  }

  // A connection the acting person just started: open its thread, where every step happens.
  function autoOpenThread() {
    const parents = S.state.messages.filter((m) => m.bot_id && isTopLevel(m) && m.reply_count);
    for (const m of parents) {
      if (S.knownParents.has(m.ts)) continue;
      S.knownParents.add(m.ts);
      const mine = JSON.stringify(m.blocks || []).includes(`<@${S.user}>`);
      if (S.rendered && mine && !S.thread) openThread(m.ts, { focus: false });
    }
  }

  function renderThread() {
    const pane = $("thread-pane");
    if (!S.thread) {
      pane.hidden = true;
      return;
    }
    pane.hidden = false;
    const st = S.state;
    const parent = st.messages.find((m) => m.ts === S.thread);
    const replies = st.messages.filter((m) => m.thread_ts === S.thread && m.ts !== S.thread);
    const mine = st.ephemerals.filter((m) => m.thread_ts === S.thread);
    const items = [];
    if (parent) items.push({ key: "p" + parent.ts, sig: JSON.stringify(parent), build: () => messageElement(parent) });
    items.push({
      key: "divider",
      sig: String(replies.length),
      build: () => h("div", { class: "thread-divider", role: "separator" }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`),
    });
    const rest = [
      ...replies.map((m) => ({ key: "m" + m.ts, ts: m.ts, sig: JSON.stringify(m), build: () => messageElement(m) })),
      ...mine.map((m) => ({ key: "e" + m.ts, ts: m.ts, sig: JSON.stringify(m), build: () => messageElement(m, { ephemeral: true }) })),
    ].sort(byTs);
    syncList($("thread-messages"), items.concat(rest), "");
  }

  function openThread(ts, { focus = true } = {}) {
    const changed = S.thread !== ts;
    S.thread = ts;
    if (changed) $("thread-messages").replaceChildren();
    render();
    const container = $("thread-messages");
    container.scrollTop = container.scrollHeight;
    if (focus) $("thread-input").focus();
  }

  function closeThread() {
    const ts = S.thread;
    S.thread = null;
    render();
    const button = document.querySelector(`#channel-messages [data-key="m${CSS.escape(ts || "")}"] .replies`);
    (button || $("composer-input")).focus();
  }

  // ------------------------------------------------------------------ App Home

  function renderHome() {
    const channelPane = $("channel-pane");
    const homePane = $("home-pane");
    const home = S.pane === "home";
    channelPane.hidden = home;
    homePane.hidden = !home;
    for (const [nav, current] of [[$("nav-channel"), !home], [$("nav-home"), home]]) {
      if (current) nav.setAttribute("aria-current", "page");
      else nav.removeAttribute("aria-current");
    }
    if (!home) return;
    const view = S.state.home;
    const onHome = S.homeTab === "home";
    $("tab-home").setAttribute("aria-selected", String(onHome));
    $("tab-messages").setAttribute("aria-selected", String(!onHome));
    $("tab-home").tabIndex = onHome ? 0 : -1;
    $("tab-messages").tabIndex = onHome ? -1 : 0;
    $("home-view").hidden = !onHome;
    $("home-messages").hidden = onHome;
    const homeSig = JSON.stringify(view || null) + S.user;
    if ($("home-view")._sig !== homeSig) {
      $("home-view")._sig = homeSig;
      $("home-view").replaceChildren(
        ...(view
          ? renderBlocks(view.blocks, { viewId: view.id })
          : [h("p", { class: "empty" }, "ce-bot has not published a Home tab for you yet. Opening this tab sent it app_home_opened.")])
      );
    }
    const dm = S.state.dm_messages.map((m) => ({ key: "m" + m.ts, sig: JSON.stringify(m), build: () => messageElement(m) }));
    syncList($("home-messages"), dm, "No direct messages from ce-bot.");
  }

  async function openHome() {
    S.pane = "home";
    render();
    $("home-title").scrollIntoView({ block: "nearest" });
    try {
      await api("/api/home/open", { user: S.user });
    } catch (error) {
      toast(error.message);
    }
  }

  // ------------------------------------------------------------------ modals

  const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  function trapFocus(event, dialog) {
    if (event.key !== "Tab") return;
    const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  }

  function inputValue(view, block) {
    const typed = (S.typed[view.id] || {})[block.block_id];
    if (typed !== undefined) return typed;
    const element = block.element;
    const kept = (((view.state || {}).values || {})[block.block_id] || {})[element.action_id];
    if (kept) {
      if ("value" in kept) return kept.value || "";
      if ("selected_option" in kept) return kept.selected_option ? kept.selected_option.value : "";
    }
    if (element.initial_value !== undefined) return element.initial_value;
    if (element.initial_option) return element.initial_option.value;
    return "";
  }

  function renderInput(block, ctx) {
    const view = ctx.view;
    const element = block.element || {};
    const id = `input-${ctx.viewId}-${block.block_id}`;
    const hintId = `${id}-hint`;
    const errorId = `${id}-error`;
    const describedBy = [block.hint ? hintId : null, errorId].filter(Boolean).join(" ");
    const value = view ? inputValue(view, block) : "";
    const remember = (v) => {
      (S.typed[ctx.viewId] = S.typed[ctx.viewId] || {})[block.block_id] = v;
    };
    let control;
    const common = {
      id,
      name: block.block_id,
      dataset: { focusKey: block.block_id },
      "aria-describedby": describedBy,
      "aria-required": block.optional ? null : "true",
    };
    if (["plain_text_input", "email_text_input", "url_text_input", "number_input"].includes(element.type)) {
      const type = { email_text_input: "email", url_text_input: "url", number_input: "text" }[element.type] || "text";
      control = element.multiline
        ? h("textarea", { ...common, rows: 4 })
        : h("input", { ...common, type, inputmode: element.type === "number_input" ? "decimal" : null });
      if (element.placeholder) control.placeholder = plainText(element.placeholder);
      if (element.max_length) control.maxLength = element.max_length;
      control.value = value || "";
      control.addEventListener("input", () => remember(control.value));
    } else if (element.type === "static_select") {
      const placeholder = plainText(element.placeholder) || "Select an option";
      control = h("select", common, h("option", { value: "" }, placeholder), allOptions(element).map((o) => h("option", { value: o.value }, plainText(o.text))));
      control.value = value || "";
      control.addEventListener("change", () => {
        remember(control.value);
        if (block.dispatch_action && control.value) act(ctx, block, element, control.value, control);
      });
    } else {
      control = h("p", { class: "context", id }, `(a ${element.type} input the playground does not draw)`);
    }
    return h(
      "div",
      { class: "block input-block", dataset: { blockId: block.block_id } },
      h("label", { for: id }, textObject(block.label), block.optional ? h("span", { class: "optional" }, " (optional)") : null),
      control,
      block.hint ? h("p", { class: "hint", id: hintId }, textObject(block.hint)) : null,
      h("p", { class: "field-error", id: errorId })
    );
  }

  function readModalValues(viewId) {
    const values = {};
    const dialog = document.querySelector(`.modal[data-view-id="${CSS.escape(viewId)}"]`);
    if (!dialog) return Object.assign({}, S.typed[viewId] || {});
    for (const control of dialog.querySelectorAll("[name]")) values[control.name] = control.value;
    return values;
  }

  function renderModal() {
    const root = $("modal-root");
    const views = S.state.views || [];
    const top = views[views.length - 1];
    if (!top) {
      if (root.firstChild) {
        root.replaceChildren();
        S.modalKey = "";
        S.modalViewId = "";
        restoreFocus();
      }
      return;
    }
    const key = `${top.id}:${top.hash}:${views.length}`;
    if (key !== S.modalKey) {
      const sameView = S.modalViewId === top.id;
      const active = document.activeElement;
      const activeKey = sameView && active && active.dataset ? active.dataset.focusKey : null;
      if (!root.firstChild) S.lastFocus = S.lastFocus || document.activeElement;
      root.replaceChildren(buildModal(top, views.length));
      S.modalKey = key;
      S.modalViewId = top.id;
      const dialog = root.querySelector(".modal");
      const again = activeKey ? dialog.querySelector(`[data-focus-key="${CSS.escape(activeKey)}"]`) : null;
      const first = dialog.querySelector(".modal-body input, .modal-body textarea, .modal-body select") || dialog.querySelector(FOCUSABLE);
      (again || first || dialog).focus();
    }
    showErrors(top);
  }

  function buildModal(view, depth) {
    const titleId = `modal-title-${view.id}`;
    const ctx = { viewId: view.id, view };
    const submitButton = view.submit ? h("button", { type: "submit", class: "btn primary" }, textObject(view.submit)) : null;
    const form = h(
      "form",
      { novalidate: true },
      h("div", { class: "modal-body" }, renderBlocks(view.blocks, ctx)),
      h(
        "footer",
        {},
        h("button", { type: "button", class: "btn", onclick: () => closeModal(view) }, view.close ? textObject(view.close) : depth > 1 ? "Back" : "Close"),
        submitButton
      )
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submitModal(view, submitButton);
    });
    const dialog = h(
      "div",
      { class: "modal", role: "dialog", "aria-modal": "true", "aria-labelledby": titleId, dataset: { viewId: view.id }, tabindex: "-1" },
      h(
        "header",
        {},
        h("h2", { id: titleId }, textObject(view.title)),
        h("button", { type: "button", class: "icon-button", "aria-label": depth > 1 ? "Back" : "Close", onclick: () => closeModal(view) }, depth > 1 ? "←" : "✕")
      ),
      h("p", { class: "app-line" }, "ce-bot"),
      form
    );
    const overlay = h("div", { class: "overlay" }, dialog);
    overlay.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        closeModal(view);
      } else {
        trapFocus(event, dialog);
      }
    });
    return overlay;
  }

  function showErrors(view, focusFirst = false) {
    const errors = { ...((S.state.view_errors || {})[view.id] || {}), ...(S.localErrors[view.id] || {}) };
    const dialog = document.querySelector(`.modal[data-view-id="${CSS.escape(view.id)}"]`);
    if (!dialog) return;
    let firstInvalid = null;
    for (const wrapper of dialog.querySelectorAll(".input-block")) {
      const blockId = wrapper.dataset.blockId;
      const message = errors[blockId] || "";
      const box = wrapper.querySelector(".field-error");
      if (box.textContent !== message) box.textContent = message;
      const control = wrapper.querySelector("[name]");
      if (control) {
        if (message) control.setAttribute("aria-invalid", "true");
        else control.removeAttribute("aria-invalid");
        if (message && !firstInvalid) firstInvalid = control;
      }
    }
    if (focusFirst && firstInvalid) firstInvalid.focus();
  }

  async function submitModal(view, button) {
    const values = readModalValues(view.id);
    const missing = {};
    for (const block of view.blocks || []) {
      if (block.type !== "input" || block.optional) continue;
      if (!String(values[block.block_id] || "").trim()) missing[block.block_id] = "Please complete this required field.";
    }
    S.localErrors[view.id] = missing;
    showErrors(view, Object.keys(missing).length > 0);
    if (Object.keys(missing).length) return;
    setBusy(button, true);
    try {
      const answer = await api("/api/view/submit", { user: S.user, view_id: view.id, values });
      S.localErrors[view.id] = answer.errors || {};
      if (answer.error) toast(answer.error);
      showErrors(view, true);
    } catch (error) {
      toast(error.message);
    } finally {
      setBusy(button, false);
    }
  }

  async function closeModal(view) {
    try {
      await api("/api/view/close", { user: S.user, view_id: view.id });
    } catch (error) {
      toast(error.message);
    }
  }

  function restoreFocus() {
    const target = S.lastFocus;
    S.lastFocus = null;
    if (target && target.isConnected) target.focus();
    else if (S.thread) $("thread-messages").focus();
    else $("composer-input").focus();
  }

  function confirmDialog(confirm) {
    return new Promise((resolve) => {
      const previous = document.activeElement;
      const titleId = "confirm-title";
      const textId = "confirm-text";
      const finish = (value) => {
        overlay.remove();
        if (previous && previous.isConnected) previous.focus();
        resolve(value);
      };
      const danger = confirm.style === "danger";
      const yes = h("button", { type: "button", class: "btn " + (danger ? "danger" : "primary") }, textObject(confirm.confirm || { text: "Yes" }));
      const no = h("button", { type: "button", class: "btn" }, textObject(confirm.deny || { text: "Cancel" }));
      yes.addEventListener("click", () => finish(true));
      no.addEventListener("click", () => finish(false));
      const dialog = h(
        "div",
        { class: "modal", role: "alertdialog", "aria-modal": "true", "aria-labelledby": titleId, "aria-describedby": textId },
        h("header", {}, h("h2", { id: titleId }, textObject(confirm.title || { text: "Are you sure?" }))),
        h("div", { class: "confirm-text mrkdwn", id: textId }, textObject(confirm.text)),
        h("footer", {}, no, yes)
      );
      const overlay = h("div", { class: "overlay confirm-overlay" }, dialog);
      overlay.addEventListener("keydown", (event) => {
        if (event.key === "Escape") {
          event.preventDefault();
          event.stopPropagation();
          finish(false);
        } else {
          trapFocus(event, dialog);
        }
      });
      document.body.append(overlay);
      (danger ? no : yes).focus();
    });
  }

  // ------------------------------------------------------------------ sandbox AWS

  async function copy(text, what) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (error) {
      const area = h("textarea", { "aria-hidden": "true", style: "position:fixed;left:-9999px" });
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    toast(`Copied ${what}: ${text}`);
  }

  function copyable(value, what, key) {
    return [
      h("code", { dataset: { copy: key } }, value || "—"),
      value ? h("button", { type: "button", class: "btn small", dataset: { focusKey: `copy-${key}` }, "aria-label": `Copy ${what}`, onclick: () => copy(value, what) }, "Copy") : null,
    ];
  }

  const isTemplate = (f) => /\.(ya?ml|json|template)$/i.test(f.name || "");

  async function sandboxAction(busyKey, path, body, done) {
    S.sandboxBusy = busyKey;
    renderSandbox();
    try {
      const answer = await api(path, body);
      S.state.sandbox = answer.sandbox;
      if (done) toast(done(answer.sandbox));
    } catch (error) {
      toast(error.message);
    } finally {
      S.sandboxBusy = "";
      renderSandbox();
    }
  }

  function renderSandbox() {
    const sb = S.state.sandbox;
    const files = S.state.files.filter(isTemplate);
    const region = S.region || sb.default_region;
    const signature = JSON.stringify([sb, files, region, S.sandboxBusy]);
    if (signature === S.sandboxSig) return;
    S.sandboxSig = signature;
    const busy = Boolean(S.sandboxBusy);
    const container = $("sandbox-body");
    const active = document.activeElement;
    const activeKey = container.contains(active) && active.dataset ? active.dataset.focusKey : null;

    const regionSelect = h("select", { id: "sandbox-region", dataset: { focusKey: "region" } }, [...new Set([...REGIONS, region])].map((r) => h("option", { value: r }, r)));
    regionSelect.value = region;
    regionSelect.addEventListener("change", () => {
      S.region = regionSelect.value;
      renderSandbox();
    });

    const templateCards = files.length
      ? files
          .slice()
          .reverse()
          .map((file) => {
            const deployed = sb.deployment && sb.deployment.file_id === file.id;
            const button = h(
              "button",
              {
                type: "button",
                class: "btn primary",
                dataset: { focusKey: `deploy-${file.id}` },
                "aria-label": `Deploy ${file.name} in the sandbox`,
                disabled: busy,
                "aria-busy": S.sandboxBusy === `deploy-${file.id}` ? "true" : null,
              },
              S.sandboxBusy === `deploy-${file.id}` ? "Creating stack…" : deployed ? "Deploy again" : "Deploy in sandbox"
            );
            button.addEventListener("click", () =>
              sandboxAction(`deploy-${file.id}`, "/api/sandbox/deploy", { file_id: file.id, region }, (s) => `Stack ${s.stack_status}: RoleArn is in Outputs`)
            );
            return h(
              "div",
              { class: "card template-card", dataset: { fileId: file.id } },
              h("div", { class: "file-name" }, file.name),
              h("div", { class: "file-sub" }, `${formatSize(file.size || 0)} · uploaded by ce-bot`),
              h("div", { class: "row" }, button, h("a", { class: "btn small", href: file.download, download: file.name, "aria-label": `Download ${file.name}` }, "Download"))
            );
          })
      : [h("p", { class: "file-sub" }, "The template ce-bot uploads into the thread appears here, ready to deploy.")];

    const deployment = sb.deployment;
    const stack = deployment
      ? h(
          "div",
          { class: "card stack-card" },
          h("div", {}, h("strong", {}, "cloud-entitlements"), " · ", h("span", { class: sb.stack_status === "CREATE_COMPLETE" ? "status-on" : "status-off" }, sb.stack_status || "DELETED")),
          h("div", { class: "file-sub" }, `${deployment.region} · from ${deployment.filename}`),
          h("div", { class: "output", role: "table", "aria-label": "Outputs" },
            h("span", { class: "head", role: "columnheader" }, "Key"),
            h("span", { class: "head", role: "columnheader" }, "Value"),
            h("span", { role: "cell" }, "RoleArn"),
            h("span", { role: "cell", class: "role-arn" }, copyable(deployment.role_arn, "RoleArn", "role-arn"))
          ),
          h("div", { class: "row" }, h("button", { type: "button", class: "btn small", disabled: busy, dataset: { focusKey: "delete-stack" }, onclick: () => sandboxAction("delete", "/api/sandbox/delete-stack", {}, () => "Stack deleted") }, "Delete stack"))
        )
      : h("p", { class: "file-sub" }, "No stack yet. Deploy the template above, as you would in CloudFormation → Create stack.");

    const on = (ok, yes, no) => h("span", { class: ok ? "status-on" : "status-off" }, ok ? `✅ ${yes}` : `❌ ${no}`);

    container.replaceChildren();
    append(container, [
      h("h3", {}, "Organization"),
      h(
        "dl",
        { class: "kv" },
        h("dt", {}, "Organization ID"), h("dd", {}, copyable(sb.organization_id, "organization ID", "org-id")),
        h("dt", {}, "Root ID"), h("dd", {}, copyable(sb.root_id, "root ID", "root-id")),
        h("dt", {}, "Management account"), h("dd", {}, copyable(sb.management_account_id, "management account ID", "account-id")),
        h("dt", {}, "Member accounts"), h("dd", {}, String(sb.accounts.length))
      ),
      h("ul", { class: "accounts", "aria-label": "Member accounts" }, sb.accounts.map((a) => h("li", {}, `${a.name} · ${a.id}`))),
      h("h3", {}, "Trusted access for StackSets"),
      h("p", { id: "trusted-access" }, on(sb.trusted_access, "Enabled", "Disabled")),
      h("h3", {}, "Templates"),
      h("div", { class: "region-picker" }, h("label", { for: "sandbox-region" }, "Deploy in region"), regionSelect),
      templateCards,
      h("h3", {}, "Stack"),
      stack,
      h("p", { id: "management-role" }, "Management role: ", on(Boolean(sb.management_role), "exists", "none")),
      h("h3", {}, "Break things on purpose"),
      h(
        "div",
        { class: "break-buttons" },
        h("button", { type: "button", class: "btn danger-outline", dataset: { focusKey: "break-trusted" }, disabled: busy || !sb.trusted_access, onclick: () => sandboxAction("break", "/api/sandbox/break", { what: "trusted_access" }, () => "Trusted access for StackSets is off") }, "Turn off trusted access"),
        h("button", { type: "button", class: "btn danger-outline", dataset: { focusKey: "break-role" }, disabled: busy || !sb.management_role, onclick: () => sandboxAction("break", "/api/sandbox/break", { what: "role" }, () => "The management role is deleted") }, "Delete the management role"),
        h("button", { type: "button", class: "btn", dataset: { focusKey: "restore" }, disabled: busy || (sb.trusted_access && (!deployment || sb.management_role)), onclick: () => sandboxAction("restore", "/api/sandbox/restore", {}, () => "Restored: trusted access on, role in place") }, "Restore")
      ),
      sb.last_error ? h("p", { class: "sandbox-error", role: "alert" }, sb.last_error) : null,
    ]);
    if (activeKey) {
      const again = container.querySelector(`[data-focus-key="${CSS.escape(activeKey)}"]`);
      if (again && !again.disabled) again.focus();
    }
  }

  // ------------------------------------------------------------------ people and composer

  function renderPeople() {
    const list = $("people-list");
    const people = S.boot.people;
    const sig = S.user;
    if (list._sig === sig) return;
    list._sig = sig;
    list.replaceChildren(
      ...people.map((p) =>
        h("li", { class: p.id === S.user ? "me" : "" }, h("span", { class: "presence", "aria-hidden": "true" }), h("span", {}, p.real_name, p.id === S.user ? " (you)" : ""), h("span", { class: "role" }, p.role))
      )
    );
  }

  function render() {
    if (!S.state) return;
    renderPeople();
    renderChannel();
    renderThread();
    renderHome();
    renderModal();
    renderSandbox();
    S.rendered = true;
    document.body.dataset.user = S.state.user; // whose view is on screen (tests wait for it)
  }

  function switchUser(id) {
    if (S.user === id) return;
    S.user = id;
    S.etag = "";
    S.state = null;
    S.modalKey = "";
    S.modalViewId = "";
    $("modal-root").replaceChildren();
    S.pollToken += 1;
    if (S.pollAbort) S.pollAbort.abort();
    try {
      localStorage.setItem("ce-playground-user", id);
    } catch (error) {
      /* private mode */
    }
    const url = new URL(location.href);
    url.searchParams.set("as", id);
    history.replaceState(null, "", url);
    if (S.pane === "home") api("/api/home/open", { user: id }).catch((e) => toast(e.message));
  }

  async function pollLoop() {
    for (;;) {
      const token = S.pollToken;
      const controller = new AbortController();
      S.pollAbort = controller;
      try {
        const st = await api(`/api/state?user=${encodeURIComponent(S.user)}&etag=${S.etag}&wait=20`, undefined, controller.signal);
        if (token !== S.pollToken) continue;
        if (st.etag !== S.etag) {
          S.etag = st.etag;
          S.state = st;
          render();
        }
      } catch (error) {
        if (token !== S.pollToken) continue;
        await sleep(1000);
      }
    }
  }

  function setupComposer(form, input, status, threadTs) {
    const send = async () => {
      const text = input.value.trim();
      if (!text) return;
      // Like Slack: the box empties at once; the text comes back only if it could not be sent.
      input.value = "";
      autosize(input);
      status.className = "composer-status info";
      status.textContent = text.startsWith("/") ? `Sending ${text.split(" ")[0]}…` : "";
      const failed = (message) => {
        status.className = "composer-status";
        status.textContent = message;
        if (!input.value) {
          input.value = text;
          autosize(input);
        }
      };
      try {
        const body = { user: S.user, text };
        const ts = threadTs();
        if (ts) body.thread_ts = ts;
        const answer = await api("/api/command", body);
        if (answer.ok) status.textContent = "";
        else failed(answer.error || "That did not work.");
      } catch (error) {
        failed(error.message);
      }
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      send();
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        send();
      }
    });
    input.addEventListener("input", () => autosize(input));
  }

  function autosize(input) {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 200) + "px";
  }

  async function start() {
    S.boot = await api("/api/bootstrap");
    document.title = `#${S.boot.channel.name} · ${S.boot.team.name} · ce-bot playground`;
    $("workspace-name").textContent = S.boot.team.name;
    $("channel-name").textContent = S.boot.channel.name;
    $("nav-channel-name").textContent = S.boot.channel.name;
    $("composer-input").placeholder = `Message #${S.boot.channel.name}`;
    const picker = $("user-picker");
    picker.replaceChildren(...S.boot.people.map((p) => h("option", { value: p.id }, `${p.real_name} — ${p.role} (${p.title})`)));
    const wanted = new URL(location.href).searchParams.get("as") || (() => {
      try {
        return localStorage.getItem("ce-playground-user");
      } catch (error) {
        return null;
      }
    })();
    const first = S.boot.people.find((p) => p.id === wanted) || S.boot.people[0];
    picker.value = first.id;
    S.user = first.id;
    picker.addEventListener("change", () => switchUser(picker.value));

    $("nav-channel").addEventListener("click", () => {
      S.pane = "channel";
      render();
      $("composer-input").focus();
    });
    $("nav-home").addEventListener("click", openHome);
    $("thread-close").addEventListener("click", closeThread);
    for (const tab of [$("tab-home"), $("tab-messages")]) {
      tab.addEventListener("click", () => {
        S.homeTab = tab.id === "tab-home" ? "home" : "messages";
        render();
        tab.focus();
      });
      tab.addEventListener("keydown", (event) => {
        if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
          event.preventDefault();
          S.homeTab = S.homeTab === "home" ? "messages" : "home";
          render();
          $(S.homeTab === "home" ? "tab-home" : "tab-messages").focus();
        }
      });
    }
    setupComposer($("composer"), $("composer-input"), $("composer-status"), () => null);
    setupComposer($("thread-composer"), $("thread-input"), $("thread-status"), () => S.thread);
    pollLoop();
  }

  document.addEventListener("DOMContentLoaded", () => {
    start().catch((error) => {
      document.body.prepend(h("p", { class: "sandbox-error", role: "alert" }, `The playground could not start: ${error.message}`));
    });
  });
})();
