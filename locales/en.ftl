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
unknown-role = There is no role “{ $given }”. Roles: { $known }
unknown-language = “{ $given }” is not supported. Choose zh (中文) or en (English).
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
cmd-lang = Switch language (zh / en)

usage-start = <code>/start</code>
usage-help = <code>/help</code>
usage-claim = <code>/claim 8-character-code</code>
usage-bind = <code>/bind team name</code> or <code>/bind ops</code>
usage-unbind = <code>/unbind</code>
usage-role = <code>/role add|rm role @username</code>, or reply to someone's message with <code>/role add|rm role</code>. Roles: agent, lead, supervisor, ops, it, admin, pr
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
role-added = ✅ { $person } is now { $role }.
role-already = { $person } is already { $role }.
role-removed = { $person } is no longer { $role }.
role-not-held = { $person } does not hold the role { $role }.
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
lang-current = Current language: { $lang }. Switch with <code>/lang zh</code> or <code>/lang en</code>
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
