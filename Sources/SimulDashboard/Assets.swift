/// The dashboard's style sheet and script, served from the binary: the pages load nothing from elsewhere.
package enum Assets {
    package static let css = """
        :root { --bg: #f6f7f9; --fg: #1d2330; --muted: #667085; --line: #d9dde5; --accent: #2f6fde;
          --ok: #1f8a4c; --bad: #c23b32; --warn: #b7791f; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg);
          color: var(--fg); }
        header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem; background: #1d2330; }
        header a { color: #d6dbe6; text-decoration: none; }
        header a.here, header a:hover { color: #fff; }
        header .brand { font-weight: 700; color: #fff; font-size: 16px; }
        header .live { margin-left: auto; font-size: 12px; color: #8da2c0; }
        header .live.on { color: #7ee2a8; }
        main { padding: 1.2rem 1.5rem 3rem; max-width: 1400px; }
        h1 { font-size: 20px; margin: 0 0 1rem; }
        h2 { font-size: 16px; margin: 1.6rem 0 .6rem; }
        a { color: var(--accent); }
        table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
        th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #eef1f5; font-weight: 600; font-size: 12px; text-transform: uppercase; color: var(--muted); }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
        pre { background: #fff; border: 1px solid var(--line); padding: .7rem; overflow: auto; white-space: pre-wrap;
          word-break: break-word; margin: 0; }
        .cards { display: flex; flex-wrap: wrap; gap: 1rem; }
        .card { background: #fff; border: 1px solid var(--line); padding: .8rem 1rem; min-width: 150px;
          text-decoration: none; color: inherit; }
        .card .value { font-size: 26px; font-weight: 700; }
        .card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; }
        .state { display: inline-block; padding: 0 .45rem; border-radius: 3px; font-size: 12px; font-weight: 600;
          background: #e7ebf1; }
        .state.SUCCESS, .state.online { background: #dcf3e5; color: var(--ok); }
        .state.FAILURE, .state.offline { background: #fbe1df; color: var(--bad); }
        .state.STARTED, .state.RECEIVED { background: #e2ebfb; color: var(--accent); }
        .state.RETRY, .state.REVOKED { background: #fbefd9; color: var(--warn); }
        form.filters { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: 1rem; }
        form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
        input, select, button { font: inherit; padding: .25rem .45rem; border: 1px solid var(--line);
          border-radius: 3px;
          background: #fff; }
        button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
        button.danger { background: var(--bad); border-color: var(--bad); }
        form.inline { display: inline; margin: 0 .3rem 0 0; }
        dl.detail { display: grid; grid-template-columns: max-content 1fr; gap: .4rem 1rem; margin: 0; background: #fff;
          border: 1px solid var(--line); padding: .8rem 1rem; }
        dl.detail dt { color: var(--muted); }
        dl.detail dd { margin: 0; }
        .pages { margin-top: .8rem; display: flex; gap: 1rem; align-items: center; }
        .muted { color: var(--muted); }
        .note { background: #fff8e6; border: 1px solid #f0d9a0; padding: .5rem .8rem; margin-bottom: 1rem; }
        .error { background: #fdecea; border: 1px solid #f3b8b2; padding: .5rem .8rem; margin-bottom: 1rem; }
        svg.chart { background: #fff; border: 1px solid var(--line); width: 100%; max-width: 900px; height: auto; }
        svg.chart text { font-size: 11px; fill: #667085; }
        .legend span { margin-right: 1rem; font-size: 12px; }
        .swatch { display: inline-block; width: .8rem; height: .8rem; vertical-align: middle; margin-right: .3rem; }
        .swatch.ok { background: var(--ok); } .swatch.bad { background: var(--bad); }
        """

    /// Live updates: on each Server-Sent Event that says the state changed, fetch this page again and swap its
    /// `<main>`. The server escaped everything in it; the script inserts no text of its own.
    package static let javascript = """
        (function () {
          "use strict";
          var live = document.getElementById("live");
          if (!window.EventSource || !live) { return; }
          var shown = null, busy = false, pending = false, last = 0;
          function busyTyping() {
            var active = document.activeElement;
            return active && (active.tagName === "INPUT" || active.tagName === "SELECT");
          }
          function refresh() {
            if (busy || busyTyping()) { pending = true; return; }
            busy = true; pending = false; last = Date.now();
            fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
              .then(function (response) { return response.ok ? response.text() : null; })
              .then(function (html) {
                if (html === null) { return; }
                var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
                var main = document.getElementById("main");
                if (fresh && main) { main.replaceWith(fresh); }
              })
              .catch(function () {})
              .then(function () { busy = false; if (pending) { schedule(); } });
          }
          function schedule() { setTimeout(refresh, Math.max(0, 2000 - (Date.now() - last))); }
          function connect() {
            var source = new EventSource((document.body.getAttribute("data-base") || "") + "/events");
            source.addEventListener("update", function (event) {
              live.className = "live on"; live.textContent = "live";
              var version = JSON.parse(event.data).version;
              if (shown === null) { shown = version; return; }
              if (version !== shown) { shown = version; if (!pending) { pending = true; schedule(); } }
            });
            source.onerror = function () { live.className = "live"; live.textContent = "reconnecting"; };
          }
          window.addEventListener("load", function () { setTimeout(connect, 0); });
        })();
        """
}
