import Mustache

/// The dashboard's templates, built into the binary. HTML that is also well-formed XML (void
/// elements closed, no named entities but XML's), so tests can parse every page. State is
/// always said in words and a symbol; colour only repeats it.
enum DashboardTemplates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in all { try library.register(text, named: name) }
        return library
    }

    static let all: [(String, String)] = [
        ("layout", layout), ("overview", overview), ("revisions", revisions), ("revision", revision), ("diff", diff),
        ("plan", plan), ("timeline", timeline), ("figures", figures), ("confirm", confirm), ("message", message),
    ]

    static let layout = #"""
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>{{$title}}reconcile{{/title}} · {{project}} · reconcile</title>
        <link rel="stylesheet" href="/static/dashboard.css"/>
        {{#live}}<script src="/static/live.js" defer="defer"></script>{{/live}}
        </head>
        <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
        <p class="brand">reconcile · project <strong>{{project}}</strong></p>
        <nav aria-label="Sections">
        <ul>
        <li><a href="/"{{#nav.overview}} aria-current="page"{{/nav.overview}}>Overview</a></li>
        <li><a href="/revisions"{{#nav.revisions}} aria-current="page"{{/nav.revisions}}>Revisions</a></li>
        <li><a href="/figures"{{#nav.figures}} aria-current="page"{{/nav.figures}}>Figures</a></li>
        <li><a href="/plan"{{#nav.plan}} aria-current="page"{{/nav.plan}}>Pending plan</a></li>
        <li><a href="/timeline"{{#nav.timeline}} aria-current="page"{{/nav.timeline}}>Timeline</a></li>
        </ul>
        </nav>
        {{#live}}<p id="live-status" class="live" role="status">Live updates: off (this page is complete without them; reload to refresh)</p>{{/live}}
        </header>
        <main id="main" tabindex="-1" data-generation="{{generation}}"{{#live}} data-live="true"{{/live}}>
        {{$content}}{{/content}}
        </main>
        <footer><p>Rendered {{renderedAt}} UTC by the controller · JSON of this page: <a href="{{apiPath}}">{{apiPath}}</a></p></footer>
        </body>
        </html>
        """#

    static let overview = #"""
        {{<layout}}
        {{$title}}Overview{{/title}}
        {{$content}}
        <h1>Overview</h1>
        <section aria-labelledby="controller-heading">
        <h2 id="controller-heading">Controller</h2>
        <dl class="facts">
        <dt>Readiness</dt><dd id="readiness" class="{{#controller.ready}}ok{{/controller.ready}}{{^controller.ready}}bad{{/controller.ready}}">{{#controller.ready}}✓ ready{{/controller.ready}}{{^controller.ready}}✗ not ready{{/controller.ready}}</dd>
        <dt>Engine event stream</dt><dd>{{#controller.eventStreamConnected}}✓ connected{{/controller.eventStreamConnected}}{{^controller.eventStreamConnected}}✗ not connected{{/controller.eventStreamConnected}}</dd>
        <dt>Last pass</dt><dd>{{#controller.lastPassSucceeded}}✓ succeeded{{/controller.lastPassSucceeded}}{{^controller.lastPassSucceeded}}✗ did not succeed{{#controller.lastError}}: {{controller.lastError}}{{/controller.lastError}}{{/controller.lastPassSucceeded}} ({{controller.passes}} passes)</dd>
        <dt>Manifest</dt><dd id="manifest">{{#controller.manifestValid}}✓ valid{{/controller.manifestValid}}{{^controller.manifestValid}}✗ invalid, the last good one stays in force: {{controller.manifestError}}{{/controller.manifestValid}}</dd>
        <dt>Mode</dt><dd id="mode">{{#controller.paused}}⏸ paused: observing, changing nothing{{/controller.paused}}{{^controller.paused}}▶ repairing drift and applying edits{{/controller.paused}}{{#controller.heldRevision}}; holding revision {{controller.heldRevision}} until the manifest changes{{/controller.heldRevision}}</dd>
        <dt>Current revision</dt><dd id="current-revision">{{#hasCurrent}}<a href="/revisions/{{current}}">revision {{current}}</a>{{/hasCurrent}}{{^hasCurrent}}none recorded{{/hasCurrent}}</dd>
        <dt>Observed</dt><dd>{{observedAt}}</dd>
        </dl>
        {{#actions}}<p class="actions"><a href="/actions/{{#controller.paused}}resume{{/controller.paused}}{{^controller.paused}}pause{{/controller.paused}}">{{#controller.paused}}Resume the controller…{{/controller.paused}}{{^controller.paused}}Pause the controller…{{/controller.paused}}</a></p>{{/actions}}
        {{#hasBackoff}}
        <table id="backoff">
        <caption>Replicas waiting out a crash backoff</caption>
        <thead><tr><th scope="col">Service</th><th scope="col">Replica</th><th scope="col">Failures</th><th scope="col">Retry in (s)</th></tr></thead>
        <tbody>
        {{#controller.backoff}}<tr><th scope="row">{{service}}</th><td>{{replica}}</td><td>{{failures}}</td><td>⏳ {{retryInSeconds}}</td></tr>{{/controller.backoff}}
        </tbody>
        </table>
        {{/hasBackoff}}
        {{^hasBackoff}}<p>No replica is waiting out a crash backoff.</p>{{/hasBackoff}}
        </section>
        <section aria-labelledby="services-heading">
        <h2 id="services-heading">Services</h2>
        {{#hasStatus}}
        <table id="services">
        <caption>Replicas per service: desired, running and healthy</caption>
        <thead><tr><th scope="col">Service</th><th scope="col">Desired</th><th scope="col">Running</th><th scope="col">Healthy</th><th scope="col">State</th></tr></thead>
        <tbody>
        {{#status.services}}<tr id="service-{{name}}"><th scope="row">{{name}}</th><td>{{desired}}</td><td>{{running}}</td><td>{{healthy}}</td><td>{{#converged}}<span class="ok">✓ converged</span>{{/converged}}{{^converged}}<span class="bad">⚠ not converged</span>{{/converged}}</td></tr>
        {{/status.services}}
        </tbody>
        </table>
        <table id="replicas">
        <caption>Containers: state, health, image and GPUs of each replica</caption>
        <thead><tr><th scope="col">Container</th><th scope="col">Id</th><th scope="col">State</th><th scope="col">Health</th><th scope="col">Image</th><th scope="col">Image id</th><th scope="col">Configuration</th><th scope="col">GPUs</th></tr></thead>
        <tbody>
        {{#status.services}}{{#containers}}<tr id="container-{{name}}" data-state="{{state}}"><th scope="row">{{name}}</th><td><code>{{id}}</code></td><td>{{stateText}}</td><td>{{healthText}}</td><td>{{image}}</td><td><code>{{imageID}}</code></td><td>{{#upToDate}}<span class="ok">✓ up to date</span>{{/upToDate}}{{^upToDate}}<span class="bad">✗ out of date</span>{{/upToDate}}</td><td>{{gpusText}}</td></tr>
        {{/containers}}{{/status.services}}
        </tbody>
        </table>
        {{/hasStatus}}
        {{^hasStatus}}<p>✗ No observation yet: {{statusError}}</p>{{/hasStatus}}
        </section>
        {{/content}}
        {{/layout}}
        """#

    static let revisions = #"""
        {{<layout}}
        {{$title}}Revisions{{/title}}
        {{$content}}
        <h1>Revisions</h1>
        <p>{{count}} revisions kept, newest first; page {{page}} of {{pages}}.{{#hasCurrent}} The current one is revision {{current}}, marked ★.{{/hasCurrent}}</p>
        <table id="revisions">
        <caption>Revisions: who, what, how it ended and how validation went</caption>
        <thead><tr><th scope="col">Revision</th><th scope="col">Time (UTC)</th><th scope="col">Outcome</th><th scope="col">By</th><th scope="col">Command</th><th scope="col">Validation</th><th scope="col">Images</th><th scope="col">Diff</th></tr></thead>
        <tbody>
        {{#rows}}<tr id="revision-{{number}}"><th scope="row"><a href="/revisions/{{number}}">{{#isCurrent}}★ {{/isCurrent}}revision {{number}}</a>{{#isCurrent}} (current){{/isCurrent}}</th><td>{{time}}</td><td>{{outcomeText}}{{#rollbackOf}}; rollback of {{rollbackOf}}{{/rollbackOf}}</td><td>{{user}}@{{host}}</td><td>{{command}}</td><td>{{validation}}</td><td>{{images}}</td><td>{{#diffPath}}<a href="{{diffPath}}">diff against current</a>{{/diffPath}}{{^diffPath}}–{{/diffPath}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        <nav aria-label="Pages of revisions" class="pager">
        {{#newer}}<a href="/revisions?page={{newer}}" rel="prev">← Newer revisions</a>{{/newer}}
        {{#older}}<a href="/revisions?page={{older}}" rel="next">Older revisions →</a>{{/older}}
        </nav>
        {{/content}}
        {{/layout}}
        """#

    static let revision = #"""
        {{<layout}}
        {{$title}}Revision {{r.number}}{{/title}}
        {{$content}}
        <h1>Revision {{r.number}}{{#isCurrent}} (★ current){{/isCurrent}}</h1>
        <dl class="facts">
        <dt>Outcome</dt><dd id="outcome">{{outcomeText}}</dd>
        {{#r.message}}<dt>Message</dt><dd>{{r.message}}</dd>{{/r.message}}
        <dt>Time (UTC)</dt><dd>{{time}}</dd>
        <dt>By</dt><dd>{{r.user}}@{{r.host}}</dd>
        <dt>Command</dt><dd>{{r.command}}</dd>
        {{#r.rollbackOf}}<dt>Rollback of</dt><dd><a href="/revisions/{{r.rollbackOf}}">revision {{r.rollbackOf}}</a></dd>{{/r.rollbackOf}}
        {{#r.restored}}<dt>Put back</dt><dd><a href="/revisions/{{r.restored}}">revision {{r.restored}}</a></dd>{{/r.restored}}
        <dt>Manifest digest</dt><dd><code>{{r.manifestDigest}}</code></dd>
        {{#diffPath}}<dt>Against the current revision</dt><dd><a href="{{diffPath}}">diff {{r.number}} → {{current}}</a></dd>{{/diffPath}}
        </dl>
        {{#actions}}<p class="actions"><a href="/actions/rollback/{{r.number}}">Roll back to revision {{r.number}}…</a></p>{{/actions}}
        <table id="images">
        <caption>Services: image, image id, replicas and GPUs they ran</caption>
        <thead><tr><th scope="col">Service</th><th scope="col">Image</th><th scope="col">Image id</th><th scope="col">Replicas</th><th scope="col">Configuration</th><th scope="col">GPUs</th></tr></thead>
        <tbody>
        {{#services}}<tr><th scope="row">{{name}}</th><td>{{image}}</td><td><code>{{imageID}}</code></td><td>{{replicas}}</td><td><code>{{config}}</code></td><td>{{gpus}}</td></tr>
        {{/services}}
        </tbody>
        </table>
        <h2>Validation</h2>
        {{#hasValidation}}
        <table id="validation">
        <caption>Validation per service and run</caption>
        <thead><tr><th scope="col">Service</th><th scope="col">Run</th><th scope="col">Result</th><th scope="col">Figures</th><th scope="col">Failed checks</th></tr></thead>
        <tbody>
        {{#validation}}<tr><th scope="row">{{service}}</th><td>{{target}}</td><td>{{#passed}}✓ passed{{/passed}}{{^passed}}✗ failed{{/passed}}</td><td>{{figures}}</td><td>{{failed}}</td></tr>
        {{/validation}}
        </tbody>
        </table>
        {{/hasValidation}}
        {{^hasValidation}}<p>No validation ran for this revision.</p>{{/hasValidation}}
        <h2>As <code>reconcile history {{r.number}}</code> prints it</h2>
        <pre>{{text}}</pre>
        {{/content}}
        {{/layout}}
        """#

    static let diff = #"""
        {{<layout}}
        {{$title}}Diff {{from}} → {{to}}{{/title}}
        {{$content}}
        <h1>Revision {{from}} → {{to}}</h1>
        <p><a href="/revisions/{{from}}">revision {{from}}</a> against <a href="/revisions/{{to}}">revision {{to}}</a>; secret values read (sensitive).</p>
        <pre id="diff">{{text}}</pre>
        {{#hasChanges}}
        <table id="changes">
        <caption>Changed fields per service</caption>
        <thead><tr><th scope="col">Service</th><th scope="col">Change</th><th scope="col">Field</th><th scope="col">From</th><th scope="col">To</th></tr></thead>
        <tbody>
        {{#changes}}<tr><th scope="row">{{service}}</th><td>{{action}}</td><td>{{field}}</td><td>{{from}}</td><td>{{to}}</td></tr>
        {{/changes}}
        </tbody>
        </table>
        {{/hasChanges}}
        {{/content}}
        {{/layout}}
        """#

    static let plan = #"""
        {{<layout}}
        {{$title}}Pending plan{{/title}}
        {{$content}}
        <h1>Pending plan</h1>
        {{#valid}}
        <p id="plan-summary">{{#empty}}✓ Nothing to do: the host matches the manifest on disk.{{/empty}}{{^empty}}⚠ {{summary}}{{/empty}}</p>
        <p>The manifest on disk planned against the engine as the controller last observed it; this is what <code>reconcile plan</code> prints.</p>
        <pre id="plan">{{text}}</pre>
        {{/valid}}
        {{^valid}}
        <p id="plan-summary">✗ The manifest on disk does not load: {{error}}. The controller keeps the last good one in force.</p>
        <table id="diagnostics">
        <caption>Diagnostics of the manifest on disk</caption>
        <thead><tr><th scope="col">Where</th><th scope="col">Severity</th><th scope="col">Key</th><th scope="col">Message</th></tr></thead>
        <tbody>
        {{#diagnostics}}<tr><th scope="row">{{file}}:{{line}}:{{column}}</th><td>{{severity}}</td><td>{{key}}</td><td>{{message}}{{#hint}} ({{hint}}){{/hint}}</td></tr>
        {{/diagnostics}}
        </tbody>
        </table>
        {{/valid}}
        {{/content}}
        {{/layout}}
        """#

    static let timeline = #"""
        {{<layout}}
        {{$title}}Timeline{{/title}}
        {{$content}}
        <h1>Timeline</h1>
        <p>Events since the controller started at {{started}} UTC: the newest {{shown}} of {{total}} (the last {{capacity}} are kept).</p>
        <table id="timeline">
        <caption>Controller events, newest first</caption>
        <thead><tr><th scope="col">#</th><th scope="col">Time (UTC)</th><th scope="col">Since start (s)</th><th scope="col">Level</th><th scope="col">Event</th><th scope="col">Details</th></tr></thead>
        <tbody>
        {{#events}}<tr><th scope="row">{{sequence}}</th><td>{{time}}</td><td>{{since}}</td><td>{{level}}</td><td>{{message}}</td><td>{{details}}</td></tr>
        {{/events}}
        </tbody>
        </table>
        {{/content}}
        {{/layout}}
        """#

    static let figures = #"""
        {{<layout}}
        {{$title}}Figures{{/title}}
        {{$content}}
        <h1>Figures across revisions</h1>
        <p>The newest {{shown}} of {{total}} revisions (<a href="/figures?revisions=all">all of them</a>).</p>
        <p>Validation figures of each service by revision, one marker per validation run: ● a run of an applied revision, ✗ of a failed one, △ of a rolled-back one (↺ in the tables); the dashed line is the threshold.</p>
        {{^charts}}<p>No revision has validation figures yet.</p>{{/charts}}
        {{#charts}}
        <section aria-labelledby="{{id}}-title" class="chart">
        <h2 id="{{id}}-title">{{title}}</h2>
        {{{svg}}}
        <table>
        <caption>{{title}}: the numbers of the chart</caption>
        <thead><tr><th scope="col">Revision</th><th scope="col">Outcome</th><th scope="col">{{figure}}</th><th scope="col">Threshold</th></tr></thead>
        <tbody>
        {{#points}}<tr><th scope="row"><a href="/revisions/{{revision}}">revision {{revision}}</a></th><td>{{outcome}}</td><td>{{value}}</td><td>{{threshold}}</td></tr>
        {{/points}}
        </tbody>
        </table>
        </section>
        {{/charts}}
        {{/content}}
        {{/layout}}
        """#

    static let confirm = #"""
        {{<layout}}
        {{$title}}{{heading}}{{/title}}
        {{$content}}
        <h1>{{heading}}</h1>
        <p>{{explanation}}</p>
        {{#hasPlan}}<pre id="plan">{{plan}}</pre>{{/hasPlan}}
        <form method="post" action="{{action}}">
        <button type="submit">{{button}}</button>
        </form>
        <p><a href="/">Cancel</a></p>
        {{/content}}
        {{/layout}}
        """#

    static let message = #"""
        {{<layout}}
        {{$title}}{{heading}}{{/title}}
        {{$content}}
        <h1>{{heading}}</h1>
        <p id="message">{{text}}</p>
        <p><a href="/">Back to the overview</a></p>
        {{/content}}
        {{/layout}}
        """#

    static let css = """
        :root { color-scheme: light; }
        body { font-family: system-ui, sans-serif; margin: 0; color: #1a1a1a; background: #fff; line-height: 1.4; }
        header { background: #f2f4f7; border-bottom: 1px solid #ccd; padding: 0.5rem 1rem; }
        header nav ul { list-style: none; display: flex; gap: 1rem; margin: 0.25rem 0; padding: 0; flex-wrap: wrap; }
        header a { color: #0b4f9c; }
        a { color: #0b4f9c; }
        a[aria-current=page] { font-weight: bold; text-decoration: none; border-bottom: 3px solid #0b4f9c; }
        a:focus-visible, button:focus-visible, main:focus-visible { outline: 3px solid #b35900; outline-offset: 2px; }
        .skip { position: absolute; left: -10000px; }
        .skip:focus { position: static; }
        main { padding: 0 1rem 1rem; }
        footer { padding: 0.5rem 1rem; color: #444; border-top: 1px solid #ccd; font-size: 0.9rem; }
        .brand { margin: 0; }
        .live { margin: 0; font-size: 0.9rem; color: #333; }
        table { border-collapse: collapse; margin: 0.75rem 0; }
        caption { text-align: left; font-weight: bold; padding: 0.25rem 0; }
        th, td { border: 1px solid #bbc; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
        thead th { background: #eef0f4; }
        .facts { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
        .facts dt { font-weight: bold; }
        .facts dd { margin: 0; }
        .ok { color: #155d27; }
        .bad { color: #9c1c1c; font-weight: bold; }
        pre { background: #f6f7f9; border: 1px solid #ccd; padding: 0.5rem; overflow-x: auto; }
        .pager { display: flex; gap: 2rem; }
        .chart svg { max-width: 100%; height: auto; }
        button { font: inherit; padding: 0.3rem 1rem; }
        """

    /// Live updates: on each change the server announces, fetch this page again and swap its
    /// `main` for the new one. Pages work without it.
    static let liveScript = """
        (function () {
          "use strict";
          var main = document.getElementById("main");
          var status = document.getElementById("live-status");
          if (!main || main.getAttribute("data-live") !== "true" || !window.EventSource || !window.fetch) { return; }
          var fetching = false, again = false;
          function say(text) { if (status) { status.textContent = text; } }
          function refresh() {
            if (fetching) { again = true; return; }
            fetching = true; again = false;
            fetch(window.location.href, { headers: { "Accept": "text/html" }, credentials: "same-origin", cache: "no-store" })
              .then(function (response) { return response.text(); })
              .then(function (text) {
                var next = new DOMParser().parseFromString(text, "text/html").getElementById("main");
                if (next) {
                  var keep = document.activeElement && main.contains(document.activeElement) ? document.activeElement.id : null;
                  main.replaceChildren.apply(main, Array.prototype.map.call(next.childNodes, function (node) { return document.importNode(node, true); }));
                  main.setAttribute("data-generation", next.getAttribute("data-generation") || "");
                  if (keep && document.getElementById(keep)) { document.getElementById(keep).focus(); }
                }
              })
              .catch(function () { say("Live updates: page refresh failed; retrying on the next change"); })
              .then(function () { fetching = false; if (again) { refresh(); } });
          }
          var source = new EventSource("/events");
          source.addEventListener("open", function () { say("Live updates: on"); });
          source.addEventListener("change", refresh);
          source.addEventListener("error", function () { say("Live updates: interrupted, reconnecting (this page may be stale)"); });
        })();
        """
}
