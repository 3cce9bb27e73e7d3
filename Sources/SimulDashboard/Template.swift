import Mustache

/// The dashboard's mustache templates: one per page, the layout they all extend, and the partials they share.
///
/// They are Swift string literals rather than resource files so that the dashboard stays one binary, as its style
/// sheet and script do (``Assets``): a SwiftPM resource bundle on Linux is a folder beside the executable, which a
/// copied or installed `simul` would leave behind.
///
/// Every `{{value}}` is escaped by ``HTML/ContentType``; no template writes a value raw (`{{{value}}}` or
/// `{{& value}}`), and a test keeps it so. Each page gets its values from a view in `PageViews.swift`, which holds
/// text and numbers only: links built from outside data are percent-encoded there. A page's template fills the
/// layout's `body` block from its view, `{{<layout}}{{$body}}{{#page}}…{{/page}}{{/body}}{{/layout}}`.
enum Template: String, CaseIterable, Sendable {
    case layout
    case actionForm = "action-form"
    case actionsNote = "actions-note"
    case workerTable = "worker-table"
    case queueTable = "queue-table"
    case chart
    case overview
    case workers
    case tasks
    case task
    case queues
    case deadLetters = "dead-letters"
    case login
    case error

    /// Every template, parsed once, under its name, which is also its name as a partial (`{{>action-form}}`).
    static let library: MustacheLibrary = {
        MustacheContentTypes.register(HTML.ContentType(), named: HTML.contentTypeName)
        var library = MustacheLibrary()
        for template in allCases {
            // Each template, partials included, starts with the pragma: swift-mustache renders a partial with its
            // own HTML escaping unless the partial names another content type.
            let text = "{{% CONTENT_TYPE: \(HTML.contentTypeName) }}\n" + template.source
            do {
                try library.register(text, named: template.rawValue)
            } catch {
                preconditionFailure("the dashboard's template \(template.rawValue) does not parse: \(error)")
            }
        }
        return library
    }()

    /// The template's mustache text, without the pragma that ``library`` adds.
    var source: String {
        switch self {
        case .layout:
            """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
            <title>{{title}} · Simul</title>
            <link rel="stylesheet" href="{{base}}/assets/dashboard.css"><script src="{{base}}/assets/dashboard.js" defer></script>
            </head><body data-base="{{base}}">
            <header><a class="brand" href="{{base}}/">Simul</a>
            {{#navigation}}
            <a href="{{path}}"{{#here}} class="here"{{/here}}>{{title}}</a>
            {{/navigation}}
            <span id="live" class="live">static</span>\
            {{#logout}}<span class="muted">signed in</span>{{>action-form}}{{/logout}}\
            {{#mayLogIn}}<a href="{{base}}/login">Log in</a>{{/mayLogIn}}</header>
            <main id="main">
            <h1>{{title}}</h1>
            {{$body}}{{/body}}
            </main></body></html>
            """
        case .actionForm:
            """
            <form class="inline" method="post" action="{{action}}">{{#fields}}\
            <input type="hidden" name="{{name}}" value="{{value}}">{{/fields}}\
            <input type="hidden" name="csrf" value="{{csrf}}">\
            <button type="submit"{{#danger}} class="danger"{{/danger}}>{{label}}</button></form>
            """
        case .actionsNote:
            """
            {{#actionsOff}}<p class="note">Actions are off: start the dashboard with <code>--token</code> to purge, \
            replay and revoke.</p>{{/actionsOff}}{{#mayLogIn}}<p class="note">Actions need the token: \
            <a href="{{base}}/login">log in</a>.</p>{{/mayLogIn}}
            """
        case .workerTable:
            """
            {{^workers}}<p class="muted">No worker has reported yet.</p>{{/workers}}
            {{^empty(workers)}}
            <table id="workers"><tr><th>worker</th><th>status</th><th>software</th><th>pool</th>\
            <th class="num">concurrency</th><th class="num">processed</th><th class="num">active</th><th>load</th>\
            <th class="num">heartbeat</th></tr>
            {{#workers}}
            <tr class="worker"><td><a href="{{tasksLink}}">{{hostname}}</a></td>\
            <td><span class="state {{status}}">{{status}}</span></td>\
            <td>{{software}}</td><td>{{pool}}</td>\
            <td class="num">{{concurrency}}</td><td class="num">{{processed}}</td>\
            <td class="num">{{active}} {{#activeTasks}}{{^first()}} {{/first()}}\
            <a class="mono" href="{{href}}">{{label}}</a>{{/activeTasks}}</td>\
            <td>{{load}}</td><td class="num">{{heartbeat}} s</td></tr>
            {{/workers}}
            </table>
            {{/empty(workers)}}
            """
        case .queueTable:
            """
            {{^queues}}<p class="muted">No message is waiting in any queue.</p>{{/queues}}
            {{^empty(queues)}}
            <table id="queues"><tr><th>queue</th><th class="num">waiting</th>\
            {{#queueActions}}<th></th>{{/queueActions}}</tr>
            {{#queues}}
            <tr class="queue"><td>{{name}}</td><td class="num">{{waiting}}</td>\
            {{#queueActions}}<td>{{#purge}}{{>action-form}}{{/purge}}</td>{{/queueActions}}</tr>
            {{/queues}}
            </table>
            {{/empty(queues)}}
            """
        case .chart:
            """
            <svg class="chart" id="throughput" viewBox="0 0 {{width}} {{height}}" role="img" \
            aria-label="tasks finished per {{slotSeconds}} seconds" xmlns="http://www.w3.org/2000/svg">
            <line x1="{{left}}" y1="{{baseline}}" x2="{{right}}" y2="{{baseline}}" stroke="#d9dde5"/>
            <line x1="{{left}}" y1="{{top}}" x2="{{right}}" y2="{{top}}" stroke="#eef1f5"/>
            <text x="4" y="{{peakY}}">{{peak}}</text><text x="4" y="{{baseline}}">0</text>
            <text x="{{left}}" y="{{labelY}}">-{{minutes}} min</text>
            <text x="{{nowX}}" y="{{labelY}}">now</text>
            {{#bars}}
            <rect x="{{x}}" y="{{y}}" width="{{width}}" height="{{height}}" fill="{{fill}}">\
            <title>{{count}} {{outcome}}</title></rect>
            {{/bars}}
            </svg>
            """
        case .overview:
            """
            {{<layout}}{{$body}}{{#page}}
            <div class="cards">{{#cards}}<a class="card" href="{{link}}"><div class="value">{{value}}</div>\
            <div class="label">{{label}}</div></a>{{/cards}}</div>
            {{#chart}}
            <h2>Throughput, tasks finished per {{slotSeconds}} s over the last {{minutes}} minutes</h2>
            {{>chart}}
            {{/chart}}
            <p class="legend"><span><i class="swatch ok"></i>succeeded</span>\
            <span><i class="swatch bad"></i>failed</span></p>
            <h2>Tasks by state</h2>
            <table class="narrow"><tr><th>state</th><th class="num">tasks</th></tr>{{#states}}\
            <tr><td><a class="state {{state}}" href="{{base}}/tasks?state={{state}}">{{state}}</a></td>\
            <td class="num">{{count}}</td></tr>{{/states}}</table>
            <h2>Queues</h2>
            {{>queue-table}}
            <h2>Workers</h2>
            {{>worker-table}}
            {{/page}}{{/body}}{{/layout}}
            """
        case .workers:
            """
            {{<layout}}{{$body}}{{#page}}
            {{>worker-table}}
            {{/page}}{{/body}}{{/layout}}
            """
        case .tasks:
            """
            {{<layout}}{{$body}}{{#page}}
            <form class="filters" method="get" action="{{base}}/tasks">
            <label>state<select name="state">{{#stateOptions}}\
            <option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/stateOptions}}\
            </select></label>
            <label>name<input name="name" value="{{nameFilter}}"></label>
            <label>worker<input name="worker" value="{{workerFilter}}"></label>
            <label>task id<input name="id" value="{{idFilter}}" size="38"></label>
            <button type="submit">Filter</button> <a href="{{base}}/tasks">clear</a>
            </form>
            {{^tasks}}<p class="muted">No task matches.</p>{{/tasks}}
            {{^empty(tasks)}}
            <table id="tasks"><tr><th>id</th><th>name</th><th>state</th><th>args</th><th>result</th><th>worker</th>\
            <th>received</th><th class="num">runtime</th></tr>
            {{#tasks}}
            <tr class="task"><td><a class="mono" href="{{href}}">{{id}}</a></td><td>{{name}}</td>\
            <td><span class="state {{state}}">{{state}}</span></td><td class="mono args">{{args}}</td>\
            <td class="mono">{{outcome}}</td><td>{{worker}}</td><td>{{received}}</td>\
            <td class="num">{{runtime}}</td></tr>
            {{/tasks}}
            </table>
            {{/empty(tasks)}}
            <div class="pages"><span class="muted">{{summary}}</span>\
            {{#newer}}<a href="{{.}}">← newer</a>{{/newer}}{{#older}}<a href="{{.}}">older →</a>{{/older}}</div>
            {{/page}}{{/body}}{{/layout}}
            """
        case .task:
            """
            {{<layout}}{{$body}}{{#page}}
            <dl class="detail" id="task">
            <dt>id</dt><dd><span class="mono">{{id}}</span></dd>
            <dt>name</dt><dd>{{#name}}{{.}}{{/name}}{{^name}}<span class="muted">—</span>{{/name}}</dd>
            <dt>state</dt><dd><span class="state {{state}}">{{state}}</span></dd>
            <dt>worker</dt><dd>{{#worker}}{{.}}{{/worker}}{{^worker}}<span class="muted">—</span>{{/worker}}</dd>
            <dt>queue</dt><dd>{{#queue}}{{.}}{{/queue}}{{^queue}}<span class="muted">—</span>{{/queue}}</dd>
            <dt>retries</dt><dd>{{#retries}}{{.}}{{/retries}}{{^retries}}<span class="muted">—</span>{{/retries}}</dd>
            <dt>runtime</dt><dd>{{#runtime}}{{.}}{{/runtime}}{{^runtime}}<span class="muted">—</span>{{/runtime}}</dd>
            <dt>args</dt><dd>{{#args}}<pre id="args">{{.}}</pre>{{/args}}\
            {{^args}}<span class="muted">—</span>{{/args}}</dd>
            <dt>kwargs</dt><dd>{{#kwargs}}<pre id="kwargs">{{.}}</pre>{{/kwargs}}\
            {{^kwargs}}<span class="muted">—</span>{{/kwargs}}</dd>
            <dt>result</dt><dd>{{#result}}<pre id="result">{{.}}</pre>{{/result}}\
            {{^result}}<span class="muted">—</span>{{/result}}</dd>
            <dt>traceback</dt><dd>{{#traceback}}<pre id="traceback">{{.}}</pre>{{/traceback}}\
            {{^traceback}}<span class="muted">—</span>{{/traceback}}</dd>
            <dt>parent</dt><dd>{{#parent}}<a class="mono" href="{{href}}">{{label}}</a>{{/parent}}\
            {{^parent}}<span class="muted">—</span>{{/parent}}</dd>
            <dt>root</dt><dd>{{#root}}<a class="mono" href="{{href}}">{{label}}</a>{{/root}}\
            {{^root}}<span class="muted">—</span>{{/root}}</dd>
            <dt>children</dt><dd>{{#children}}{{^first()}}<br>{{/first()}}\
            <a class="mono" href="{{href}}">{{label}}</a>{{/children}}\
            {{^children}}<span class="muted">—</span>{{/children}}</dd>
            </dl>
            <h2>Timeline</h2>
            {{^timeline}}<p class="muted">No events yet.</p>{{/timeline}}
            {{^empty(timeline)}}
            <table id="timeline"><tr><th>state</th><th>at (UTC)</th></tr>{{#timeline}}\
            <tr><td>{{state}}</td><td>{{at}}</td></tr>{{/timeline}}</table>
            {{/empty(timeline)}}
            {{^empty(actions)}}
            <h2>Actions</h2>
            {{#actions}}{{>action-form}}{{/actions}}
            {{/empty(actions)}}
            {{/page}}{{/body}}{{/layout}}
            """
        case .queues:
            """
            {{<layout}}{{$body}}{{#page}}
            {{>actions-note}}
            {{>queue-table}}
            {{/page}}{{/body}}{{/layout}}
            """
        case .deadLetters:
            """
            {{<layout}}{{$body}}{{#page}}
            {{^letters}}<p class="muted">No dead letters.</p>{{/letters}}
            {{^empty(letters)}}
            {{>actions-note}}
            {{#letterActions}}<p>{{#replayAll}}{{>action-form}}{{/replayAll}}</p>{{/letterActions}}
            <table id="dead-letters"><tr><th class="num">id</th><th>at (UTC)</th><th>queue</th><th>task</th>\
            <th>task id</th><th>reason</th>{{#letterActions}}<th></th>{{/letterActions}}</tr>
            {{#letters}}
            <tr class="dead-letter"><td class="num">{{id}}</td><td>{{at}}</td><td>{{queue}}</td><td>{{task}}</td>\
            <td class="mono">{{taskId}}</td><td>{{reason}}</td>\
            {{#letterActions}}<td>{{#replay}}{{>action-form}}{{/replay}}</td>{{/letterActions}}</tr>
            {{/letters}}
            </table>
            {{/empty(letters)}}
            {{/page}}{{/body}}{{/layout}}
            """
        case .login:
            """
            {{<layout}}{{$body}}{{#page}}
            {{#error}}<p class="error">{{.}}</p>{{/error}}
            <form method="post" action="{{base}}/login" class="filters">
            <label>dashboard token<input type="password" name="token" autocomplete="current-password"></label>
            <input type="hidden" name="csrf" value="{{csrf}}">
            <button type="submit">Log in</button></form>
            <p class="muted">The token is the one given to <code>simul dashboard --token</code> or \
            <code>SIMUL_DASHBOARD_TOKEN</code>. Logging in opens a session for this browser, kept in a same-site, \
            HTTP-only cookie that holds a random id, not the token; it ends after 12 hours or at "Log out".</p>
            {{/page}}{{/body}}{{/layout}}
            """
        case .error:
            """
            {{<layout}}{{$body}}{{#page}}
            <p class="error">{{message}}</p>
            {{#logInLink}}<p><a href="{{base}}/login">Log in</a></p>{{/logInLink}}
            {{/page}}{{/body}}{{/layout}}
            """
        }
    }
}
