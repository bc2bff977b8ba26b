# floorbot — English
# Texts are Telegram HTML: write angle brackets as &lt; &gt; and & as &amp;.

## Roles
role-agent = agent
role-lead = team lead
role-supervisor = supervisor
role-ops = operations
role-it = IT
role-admin = administration
role-pr = PR/legal
no-roles = no roles yet

## General
error-internal = ⚠️ Something went wrong; it has been logged. Please try again later or tell a supervisor.
usage = Usage: { $usage }
refused-role = ⛔ /{ $command } is for { $roles } only.
command-group-only = /{ $command } works in a group.
command-private-only = Please send /{ $command } to me in a private chat: @{ $bot }
command-team-group-only = Please use /{ $command } in your team's group.
unknown-role = There is no role “{ $given }”. Roles: { $known }
unknown-language = “{ $given }” is not supported. Choose <code>zh</code> (中文) or <code>en</code> (English).
team-name-too-long = A team name can have at most 40 characters.
added-to-group = Hello, I'm floorbot 👋 A supervisor can bind this group with <code>/bind team name</code> (a CS team group) or <code>/bind ops</code> (the cross-department group).

## Menus and help (one line each)
cmd-start = Get started
cmd-help = Commands you can use
cmd-claim = Claim the supervisor role (first start)
cmd-bind = Bind this group: a team group or the cross-department group
cmd-unbind = Unbind this group
cmd-role = Add or remove a role
cmd-whoami = Who am I and which roles I hold
cmd-team = Members of this group
cmd-phone = Register the phone number for call alerts
cmd-emergency = Register an emergency contact
cmd-duty = Take duty / who is on duty
cmd-lang = Switch the language: 中文 or English

usage-start = <code>/start</code>
usage-help = <code>/help</code>
usage-claim = <code>/claim 8-character-code</code>
usage-bind = <code>/bind team name</code> or <code>/bind ops</code>
usage-unbind = <code>/unbind</code>
usage-role = <code>/role add|rm role @username</code>, or reply to someone's message with <code>/role add|rm role</code>. Roles: agent, team lead, supervisor, operations, IT, administration, PR/legal
usage-whoami = <code>/whoami</code>
usage-team = <code>/team</code>
usage-phone = <code>/phone +14155550100</code> to register; <code>/phone</code> to see it; <code>/phone rm</code> to remove it (private chat only)
usage-emergency = <code>/emergency name +14155550100</code> to register; <code>/emergency</code> to see it; <code>/emergency rm</code> to remove it; supervisors: <code>/emergency @username</code> (private chat only)
usage-duty = <code>/duty</code> to take duty; <code>/duty who</code> to see who is on duty
usage-lang = <code>/lang zh</code> or <code>/lang en</code>

help-header = <b>Commands</b>
help-header-unbound = This group is not bound yet. A supervisor can send <code>/bind team name</code> or <code>/bind ops</code>.
    <b>Commands</b>
help-line = { $usage } — { $description }
help-block = { $description }:
    { $usage }

## /start
start-private = Hello, { $name }! I'm floorbot: morning patrols, store anomaly reports and urgent situations for your CS team.
    Here you can register your phone number (<code>/phone</code>) and an emergency contact (<code>/emergency</code>); they are stored and never shown in a group.
    Send /help for all commands.
start-unbound-group = This group is not bound yet. A supervisor can send <code>/bind team name</code> (a CS team group) or <code>/bind ops</code> (the cross-department group).
start-team-group = This is the group of CS team “{ $team }”. Send /help for the commands.
start-ops-group = This is the cross-department group, where store anomalies are reported to operations. Send /help for the commands.

## Claiming the supervisor role
claim-ok = ✅ You are a supervisor now. Next: add me to a team group and send <code>/bind team name</code> there.
claim-invalid = That code is not valid or has been used already.

## Binding
bind-team-ok = ✅ This group is now the group of CS team “{ $team }”.
bind-team-taken = Team “{ $team }” is bound to the group “{ $group }”. Send /unbind there first.
bind-ops-ok = ✅ This group is now the cross-department group; store anomalies will be reported to operations here.
bind-ops-taken = The cross-department group is “{ $group }”. Send /unbind there first.
unbind-ok = This group is no longer bound.
unbind-none = This group is not bound.

## Roles
role-unknown-person = I haven't seen { $who } yet. Ask them to write once in a bound group, or reply to their message with the command.
role-reply-not-a-person = The message you replied to was not written by a colleague, so there is nobody to give the role to. Reply to a message they wrote themselves.
role-added = ✅ { $person } now has the { $role } role.
role-already = { $person } already has the { $role } role.
role-removed = { $person } no longer has the { $role } role.
role-not-held = { $person } does not have the { $role } role.
role-in-config = { $person } is a supervisor in the configuration file; remove them there.

whoami = { $name }
    ID: <code>{ $id }</code>
    Roles: { $roles }
team-header = <b>Members of team “{ $team }”</b> ({ $count })
ops-header = <b>Members of this group</b> ({ $count })
team-line = • { $person } — { $roles }

## Duty
duty-taken = ✅ { $person } is now the supervisor on duty.
duty-start-bot-warning = ⚠️ You have not written to me in private yet, so I cannot message you. Please open @{ $bot } and send /start.
duty-who = Supervisor on duty: { $person }
duty-who-unseen = Supervisor on duty: ID <code>{ $id }</code> (not seen in a group yet)
duty-nobody = There is no supervisor yet.

## Language
lang-current = Current language: { $lang }. Switch with <code>/lang zh</code> (中文) or <code>/lang en</code> (English).
language-zh-cn = 中文
language-en = English
lang-set = ✅ This chat now uses English.

## Phone numbers and emergency contacts
contact-private-only = 🔒 Phone numbers and emergency contacts are registered in a private chat only: please write to @{ $bot }.
contact-deleted = The message with the number has been deleted.
contact-delete-yourself = I am not allowed to delete messages here; please delete the message with the number yourself.
phone-invalid-country = The number must start with + and the country code, e.g. +14155550100.
phone-invalid-digits = Only digits may follow the + (spaces and dashes are fine).
phone-invalid-length = Wrong length: 8 to 15 digits after the +, not starting with 0.
phone-show = Your registered number: { $number }
phone-none = You have not registered a phone number. Send <code>/phone +14155550100</code>.
phone-removed = Your phone number has been removed.
phone-saved = ✅ Registered { $number }. Call alerts will ring this number.
emergency-show = Your emergency contact: { $name } { $number }
emergency-none = You have not registered an emergency contact. Send <code>/emergency name +14155550100</code>.
emergency-removed = Your emergency contact has been removed.
emergency-name-too-long = A contact name can have at most 40 characters.
emergency-saved = ✅ Registered { $name } { $number } as your emergency contact. Supervisors see it only when they cannot reach you, and every read is recorded.
emergency-read = Emergency contact of { $person }: { $name } <code>{ $number }</code>
    (this read has been recorded)
emergency-read-none = { $person } has no emergency contact. (This read has been recorded.)
error-internal-short = Something went wrong; please try again later.

## Stores
platform-taobao = Taobao
platform-tmall = Tmall
platform-jd = JD
platform-pdd = PDD
platform-douyin = Douyin
platform-other = Other
store-label = { $platform } · { $name }
store-and-kind = { $store } · { $kind }
store-line = • { $store }
store-unknown-platform = There is no platform “{ $given }”. Platforms: { $known }
store-name-too-long = A store name can have at most 40 characters.
store-added = ✅ Added the store { $store } (team { $team }).
store-exists = This team already has a store “{ $store }”.
store-removed = The store “{ $store }” has been removed.
store-not-found = This team has no store “{ $store }”. Send /stores to see them.
stores-none = Team “{ $team }” has no stores yet. A lead or supervisor can add one with <code>/store add tmall Flagship</code>.
stores-header = <b>Stores of team “{ $team }”</b> ({ $count })
cmd-store = Add or remove a store
cmd-stores = The team's stores
cmd-anomaly = Report a store anomaly
cmd-anomalies = Open anomalies
cmd-incident = An anomaly's record
cmd-ack = Acknowledge an anomaly
cmd-resolve = Mark an anomaly resolved
usage-store = <code>/store add platform name</code> (platforms: Taobao, Tmall, JD, PDD, Douyin, Other); <code>/store rm name</code>
usage-stores = <code>/stores</code>
usage-anomaly = <code>/anomaly store kind what is wrong</code>, kinds: coupon, price, stock, page, other; <code>/anomaly</code> alone asks step by step
usage-anomalies = <code>/anomalies</code>
usage-incident = <code>/incident number</code>
usage-ack = <code>/ack number</code>
usage-resolve = <code>/resolve number what was done</code>
anomaly-word-coupon = coupon
anomaly-word-price = price
anomaly-word-stock = stock
anomaly-word-page = page
anomaly-word-other = other

## Anomaly kinds
kind-coupon = wrong coupon settings
kind-price = wrong price
kind-stock = stock error
kind-page = product page error
kind-other = other problem

## Reporting
anomaly-no-stores = This team has no stores yet. A lead or supervisor can add one with <code>/store add tmall Flagship</code>.
anomaly-unknown-store = No store “{ $given }”. This team's stores:
    { $stores }
anomaly-unknown-kind = There is no kind “{ $given }”. Kinds: { $known }
anomaly-too-long = The description is too long: at most { $limit } characters.
anomaly-joined = The same problem for this store is still open as #{ $number }; your report joined it (+1).
button-cancel = Cancel
form-pick-store = Which store has the problem?
form-pick-kind = { $store } — what is wrong?
form-describe = { $store } · { $kind }
    Please <b>reply to this message</b> with the details (the product, what is wrong, what the customer said).
form-not-yours = This is not your report form, or it has expired.
form-cancelled = Report cancelled.
form-store-gone = That store has been removed.
form-chosen = Chosen: { $chosen }
form-expired = ⌛ The report form was not finished within 5 minutes and has expired. Send /anomaly again when needed.
anomaly-guidance = With the customer:
    1. Apologise, and say the problem is known and being checked;
    2. Ask them to wait a little; you will come back as soon as it is fixed;
    3. Promise no price, gift or compensation until operations confirms.
relay-header = 📣 <b>Store anomaly</b> · CS team “{ $team }”

## Anomaly state
incident-store = Store: { $store }
incident-kind = Problem: { $kind }
incident-description = Details: { $text }
incident-full-text = Full text: /incident { $number }
incident-reporter = Reported by { $person } · { $time }
incident-joined = +1 report by { $person } · { $time }
incident-next-step = Next: at { $time }, if still nobody has answered, { $actions } { $target }
incident-acknowledged-by = ✅ Acknowledged by { $person } (after { $duration })
incident-resolved-by = ✅ Resolved by { $person } · { $time } · { $note }
incident-resolved-by-no-note = ✅ Resolved by { $person } · { $time }
incident-progress = Progress:
target-duty = the duty supervisor
target-backup = the backup supervisor
target-role = everyone with the role { $role }
action-call = call
action-private = message
action-mention = mention
button-acknowledge = Acknowledge
button-resolve = Resolved
button-only-responders = Only operations or a supervisor can do this.
ack-done = ✅ Anomaly #{ $number } acknowledged.
ack-already = Anomaly #{ $number } was already acknowledged.
resolve-done = ✅ Anomaly #{ $number } marked resolved.
resolve-already = Anomaly #{ $number } was already resolved.
incident-not-found = There is no anomaly #{ $number }.
duration-hours = { $hours } h { $minutes } min
duration-minutes = { $minutes } min
duration-seconds = { $seconds } s

## Timeline
incident-header = <b>Incident #{ $number }</b> · { $what }
incident-time-to-ack = Time to acknowledge: { $duration }
incident-time-to-resolve = Time to resolve: { $duration }
event-reported = { $time } reported by { $person }
event-joined = { $time } { $person } reported the same problem (+1)
event-relayed = { $time } passed on to the cross-department group
event-relay-failed = { $time } no cross-department group bound, so operations was not told
event-step = { $time } escalation step { $step } started
event-step-late = { $time } escalation step { $step } started, { $late } later than planned
event-step-nobody = { $time } step { $step } found no { $target }; skipped
event-private-sent = { $time } messaged { $person }
event-private-failed = { $time } could not message { $person } (they have not started a private chat with me)
event-mentioned = { $time } mentioned { $people } in the group
event-call-placed = { $time } called { $person }
event-call-placed-again = { $time } called { $person } (placed again after a restart; may have rung twice)
event-call-answered = { $time } { $person } answered the call
event-call-failed = { $time } call to { $person } not answered ({ $status })
event-call-retry = { $time } will call { $person } again at { $at }
event-call-no-number = { $time } { $person } has no phone number registered; call skipped
event-call-no-provider = { $time } no phone provider configured; call to { $person } skipped
event-call-error = { $time } the phone service failed; { $person } was not called
event-call-unavailable = { $time } the phone service is unavailable; calling { $person } again at { $at }
event-call-cancelled = { $time } someone acknowledged; the call to { $person } was hung up
event-acknowledged = { $time } acknowledged by { $person }
event-resolved = { $time } resolved by { $person }: { $note }
event-resolved-no-note = { $time } resolved by { $person }
anomalies-none = There are no open incidents.
anomalies-header = <b>Open incidents</b> ({ $count })
anomalies-line = #{ $number } { $what } · reported { $ago } · { $state }

## Escalation
escalation-private = ⚠️ <b>{ $title } #{ $number }</b>: operations has not answered for { $duration }
    { $what }
    { $text }
    Details: /incident { $number }
escalation-private-finding = { $icon } <b>{ $title } #{ $number }</b> needs you ({ $severity })
    { $text }
    Details: /incident { $number }
escalation-mention = { $people } { $title } #{ $number }: operations has not answered for { $duration }; please follow up.
escalation-mention-finding = { $people } { $icon } { $title } #{ $number } needs following up ({ $severity }): { $text }
notify-acknowledged = { $reporter } { $person } acknowledged #{ $number } and is on it.
notify-resolved = { $reporter } #{ $number } was resolved by { $person }: { $note }
notify-resolved-no-note = { $reporter } #{ $number } was resolved by { $person }.
call-one-anomaly = This is the customer service duty alert. Store anomaly number { $number }: { $what }. Operations has not answered yet. Please act now.
call-one-other = This is the customer service duty alert. { $title } number { $number }: { $what }. Please act now.
call-one-other-plain = This is the customer service duty alert. { $title } number { $number } has nobody on it yet. Please act now.
call-many = This is the customer service duty alert. { $count } incidents are waiting, numbers { $numbers }. Please act now.
spoken-store = { $platform } { $name }
spoken-store-kind = { $store }, { $kind }
spoken-list-separator = {", "}

## Digests: when one chat gets more messages at once than Telegram allows, they merge into one
digest-relay-header = 📣 <b>Incidents reported · { $count }</b> (many at once, merged here; handle each one)
digest-team-header = { $count } reports recorded. With the customers:
    1. Apologise, and say the problem is known and being checked;
    2. Ask them to wait a little; you will come back as soon as it is fixed;
    3. Promise no price, gift or compensation until operations confirms.
digest-line = { $icon } <b>#{ $number }</b> { $what }: { $text } — { $person }, reported { $time } · { $state }
digest-state-waiting = waiting for operations
digest-state-acknowledged = { $person } on it
digest-state-resolved = resolved by { $person }
digest-button-acknowledge = #{ $number } acknowledge
digest-button-resolve = #{ $number } resolved
digest-mention = { $people } operations has not answered these yet; please follow up:
digest-mention-line = <b>#{ $number }</b> { $what } (reported { $time })
digest-private-header = ⚠️ <b>{ $count } anomalies need you</b>:
digest-private-line = <b>#{ $number }</b> { $what }: { $text } (reported { $time })
digest-notice-acknowledged = { $reporter } #{ $number } acknowledged by { $person }, who is on it
digest-notice-resolved = { $reporter } #{ $number } resolved by { $person }

## Morning patrol: the default checklist (ten items)
patrol-step-1-title = Account logins
patrol-step-1-check = every store account is logged in and traffic reaches the queue
patrol-step-1-fix = get each account online now; a missed account loses customers
patrol-step-2-title = Offline messages
patrol-step-2-check = messages customers left overnight (about 00:00–08:00)
patrol-step-2-fix = answer them first thing, before customers ask again or get angry
patrol-step-3-title = Cross-department news
patrol-step-3-check = anything important in the cross-department group
patrol-step-3-fix = read it, act on it, miss nothing
patrol-step-4-title = Violations and complaints
patrol-step-4-check = complaints, violations and penalty points in the store backends and the work mailbox
patrol-step-4-fix = handle them at once so they don't grow
patrol-step-5-title = Yesterday's CS data
patrol-step-5-check = satisfaction, answer ratio, response time, reply rate; order value, inquiry conversion, sales, refund rate
patrol-step-5-fix = an anomaly: find the cause and fix it; none: it goes into routine QA
patrol-step-6-title = Platform scores
patrol-step-6-check = service experience score, New Lighthouse indicators, JD star-store indicators
patrol-step-6-fix = a clear drop: analyse and correct at once; these scores drive traffic
patrol-step-7-title = Dissatisfaction details
patrol-step-7-check = when satisfaction is below target, the dissatisfied cases in the backend
patrol-step-7-fix = targeted correction
patrol-step-8-title = High-risk handling
patrol-step-8-check = agents the QA backend flagged for high-risk handling
patrol-step-8-fix = look at each flagged agent and correct it
patrol-step-9-title = Refunds past their time limit
patrol-step-9-check = return and refund orders waiting too long
patrol-step-9-fix = review them now; refund speed affects experience and platform score
patrol-step-10-title = Neutral and negative reviews
patrol-step-10-check = neutral and negative reviews caused by CS
patrol-step-10-fix = find why and correct it; none: routine review care

## Morning patrol: the checklist
weekday-mon = Mon
weekday-tue = Tue
weekday-wed = Wed
weekday-thu = Thu
weekday-fri = Fri
weekday-sat = Sat
weekday-sun = Sun
patrol-nobody = nobody set
patrol-header = 🗒 <b>Morning patrol</b> · { $team } · { $date }
patrol-owner = Owner: { $owner } · due { $deadline }
patrol-posted-late = ⚠️ Posted late (scheduled for { $time })
patrol-progress = Progress: { $done }/{ $total } items
patrol-step-detail = {"    "}Check: { $check }; do: { $fix }
patrol-done-line = ✅ Patrol completed at { $time }
patrol-late-line = ⏰ Past the deadline and not completed
patrol-step-name = { $number }. { $title }
patrol-step-line = { $mark } <b>{ $step }</b>{ $ticked }{ $note }{ $incident }
patrol-store-heading = <b>{ $step }</b>
patrol-store-line = {"    "}{ $mark } { $store }{ $ticked }{ $note }{ $incident }
patrol-item-ticked = {" — "}{ $person } { $time }
patrol-button-ok = { $number } ✅
patrol-button-issue = { $number } ⚠
patrol-button-na = { $number } N/A
patrol-button-store-ok = { $store } ✅
patrol-button-store-offline = { $store } offline
patrol-stores-message = { $date } account logins: confirm each store; press “offline” for an account that is not logged in
patrol-reminder = { $owner } the patrol is due in { $left } ({ $deadline }); still to do: { $steps }
patrol-reminder-unowned = ⏰ The patrol is due in { $left } ({ $deadline }); still to do: { $steps }
patrol-late-group = { $supervisor } team “{ $team }” missed today's patrol deadline; still to do: { $steps }
patrol-late-private = ⏰ Team “{ $team }” missed today's patrol deadline; still to do: { $steps }
patrol-summary = ✅ Today's patrol is done in { $duration }: { $issues ->
        [0] no issues found
        [one] one issue found
       *[other] { $issues } issues found
    }.
patrol-team-only = Only members of this team can tick the checklist.
patrol-already-ticked = Someone has already handled this item.
patrol-ticked = Recorded
patrol-ask-na = { $person } why does item { $step } “{ $title }” not apply? Please <b>reply to this message</b> with the reason.
patrol-ask-issue = { $person } what did you find at item { $step } “{ $title }”? Please <b>reply to this message</b> with the details.
patrol-ask-severity = Choose the warning level: blue (handle it yourself), yellow (supervisor steps in), red (needs other departments).
patrol-issue-recorded = Recorded as #{ $number } ({ $severity }).
patrol-finding = { $step }: { $note }
severity-blue = blue warning
severity-yellow = yellow warning
severity-red = red warning
patrol-severity-button = { $icon } { $severity }
relay-header-patrol = 📣 <b>Found on the morning patrol</b> · CS team “{ $team }”

## Morning patrol: commands
cmd-patrol = Morning patrol: today's checklist, schedule, history
usage-patrol = <code>/patrol</code> today's checklist
    <code>/patrol start</code> start today's patrol now
    <code>/patrol schedule 08:30 mon-sat deadline 09:30</code> set the patrol time
    <code>/patrol owner @username</code> name the owner; <code>/patrol owner rotation</code> team leads take turns
    <code>/patrol steps</code> the checklist's items
    <code>/patrol step add title | what to check | what to do</code> add an item
    <code>/patrol step rm number</code> remove an item
    <code>/patrol step edit number title | what to check | what to do</code> change an item
    <code>/patrol history 7</code> the last 7 days' patrols
patrol-not-posted = Today's checklist has not been posted yet. A lead or supervisor can send <code>/patrol start</code> to start now.
patrol-moved = ⬇️ The checklist moved: see the newest message.
patrol-already-posted = Today's checklist is already posted; send /patrol to see it again.
patrol-bad-time = “{ $given }” is not a time; write HH:MM, e.g. 08:30.
patrol-bad-days = “{ $given }” is not a set of days. Write, for example, daily, weekdays, weekend, mon-fri or mon,wed,fri.
patrol-bad-deadline = The deadline { $deadline } must be later the same day than the start { $at }.
patrol-schedule-set = ✅ Patrol: { $days } at { $at }, due { $deadline }. Next: { $next }.
patrol-owner-set = ✅ Patrol owner: { $person }.
patrol-owner-rotation = ✅ The patrol owner is now a rotation among the team leads.
patrol-steps-header = <b>Patrol checklist</b> ({ $count ->
        [one] one item
       *[other] { $count } items
    })
patrol-steps-line = { $number }. <b>{ $title }</b> — check: { $check }; do: { $fix }
patrol-step-added = ✅ Added item { $number } “{ $title }”; it applies from tomorrow's checklist.
patrol-step-removed = ✅ Removed item { $number } “{ $title }”; it applies from tomorrow's checklist.
patrol-step-edited = ✅ Changed item { $number } “{ $title }”; it applies from tomorrow's checklist.
patrol-step-unknown = There is no item “{ $given }”; the checklist has { $count ->
        [one] one item
       *[other] { $count } items
    }. Send /patrol steps to see them.
patrol-history-days = “{ $given }” is not a number of days; write 1 to 90, e.g. <code>/patrol history 7</code>.
patrol-history-header = <b>{ $days ->
        [one] Today's patrol
       *[other] Patrols of the last { $days } days
    }</b>
patrol-history-late = , { $duration } late
patrol-history-done = { $date } ✅ done at { $time } ({ $person }{ $late }) · issues: { $issues }
patrol-history-open = { $date } ❌ not completed · issues: { $issues }
patrol-history-by-step = <b>Issues found per item</b>
patrol-history-step-line = • { $title }: { $count }
patrol-history-no-issues = none

## Lists and joining words
list-separator = {", "}
or-separator = {" or "}
patrol-item-note = {": "}{ $note }
patrol-item-incident = {" "}(#{ $number })

## Dates and durations
date = { $weekday } { $day } { $month }
month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec
duration-days = { $days } d { $hours } h
time-ago = { $duration } ago
days-every-day = every day
days-none = no days
days-range = { $first }–{ $last }

## Incidents: states and wording
incident-title-store_anomaly = Store anomaly
incident-title-patrol_issue = Patrol finding
incident-title-account_offline = Store account offline
incident-status = { $icon } { $title } #{ $number } · { $state }
incident-state-waiting-ops = waiting for operations
incident-state-waiting-supervisor = waiting for the supervisor
incident-state-recorded = recorded; the team handles it
incident-state-handling = being handled
incident-state-resolved = resolved (took { $duration })
incident-waiting-ops = ⏳ Reported at { $time }; operations has not answered yet
incident-waiting-supervisor = ⏳ Reported at { $time }; the supervisor has not answered yet
anomaly-recorded = Recorded as <b>#{ $number }</b>; passing it on to operations.
anomaly-relayed = Passed on to operations as <b>#{ $number }</b>.
anomaly-not-relayed = Recorded as <b>#{ $number }</b>. ⚠️ No cross-department group is bound, so operations was not told: a supervisor can send <code>/bind ops</code> in the operations group.
anomaly-if-no-reply = If operations does not answer within { $duration }, I will { $actions } { $target }.
parts-separator = {" · "}
call-status-busy = busy
call-status-no-answer = no answer
call-status-failed = call failed
call-status-canceled = cancelled
call-status-other = not connected
incident-progress-line = • { $line }
anomaly-recorded-only = Recorded as <b>#{ $number }</b>.
