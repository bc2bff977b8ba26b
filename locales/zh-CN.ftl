# floorbot — 简体中文（默认）
# 文本为 Telegram HTML：尖括号写作 &lt; &gt;，& 写作 &amp;。

## 角色
role-agent = 客服
role-lead = 组长
role-supervisor = 客服主管
role-ops = 运营
role-it = IT
role-admin = 综合管理
role-pr = 公关/法务
no-roles = 暂无角色

## 通用
error-internal = ⚠️ 处理出错了，已记录日志。请稍后再试，或联系客服主管。
usage = 用法：{ $usage }
refused-role = ⛔ /{ $command } 仅限{ $roles }使用。
command-group-only = /{ $command } 需要在群里使用。
command-private-only = /{ $command } 请私聊我发送：@{ $bot }
unknown-role = 没有「{ $given }」这个角色。可选：{ $known }
unknown-language = 不支持「{ $given }」。可选：zh（中文）、en（English）
team-name-too-long = 团队名称最多 40 个字。
added-to-group = 大家好，我是 floorbot 👋 请客服主管在本群发送 <code>/bind team 团队名</code>（客服团队群）或 <code>/bind ops</code>（跨部门沟通群）完成绑定。

## 菜单与帮助（每条一行）
cmd-start = 开始使用
cmd-help = 查看可用命令
cmd-claim = 领取客服主管身份（首次启动）
cmd-bind = 绑定本群：团队群或跨部门沟通群
cmd-unbind = 解除本群绑定
cmd-role = 添加或移除角色
cmd-whoami = 查看我的身份和角色
cmd-team = 查看本群成员
cmd-phone = 登记接听电话通知的手机号
cmd-emergency = 登记紧急联系人
cmd-duty = 我来值班 / 查看值班主管
cmd-lang = 切换语言（zh / en）

usage-start = <code>/start</code>
usage-help = <code>/help</code>
usage-claim = <code>/claim 8位代码</code>
usage-bind = <code>/bind team 团队名</code> 或 <code>/bind ops</code>
usage-unbind = <code>/unbind</code>
usage-role = <code>/role add|rm 角色 @用户名</code>，或回复某人的消息发送 <code>/role add|rm 角色</code>。角色：agent 客服、lead 组长、supervisor 客服主管、ops 运营、it IT、admin 综合管理、pr 公关/法务
usage-whoami = <code>/whoami</code>
usage-team = <code>/team</code>
usage-phone = <code>/phone +8613800138000</code> 登记；<code>/phone</code> 查看；<code>/phone rm</code> 删除（仅限私聊）
usage-emergency = <code>/emergency 姓名 +8613800138000</code> 登记；<code>/emergency</code> 查看；<code>/emergency rm</code> 删除；主管查看：<code>/emergency @用户名</code>（仅限私聊）
usage-duty = <code>/duty</code> 我来值班；<code>/duty who</code> 查看值班主管
usage-lang = <code>/lang zh</code> 或 <code>/lang en</code>

help-header = <b>可用命令</b>
help-header-unbound = 本群尚未绑定。客服主管可以发送 <code>/bind team 团队名</code> 或 <code>/bind ops</code>。
    <b>可用命令</b>
help-line = { $usage } — { $description }

## /start
start-private = 你好，{ $name }！我是 floorbot，帮客服团队做巡店、异常报备和紧急情况处理。
    在这里可以登记你的手机号（<code>/phone</code>）和紧急联系人（<code>/emergency</code>），只保存，不会出现在任何群里。
    发送 /help 查看全部命令。
start-unbound-group = 本群尚未绑定。请客服主管发送 <code>/bind team 团队名</code>（客服团队群）或 <code>/bind ops</code>（跨部门沟通群）。
start-team-group = 本群是客服团队「{ $team }」的团队群。发送 /help 查看可用命令。
start-ops-group = 本群是跨部门沟通群，店铺异常会在这里报备给运营。发送 /help 查看可用命令。

## 领取主管身份
claim-ok = ✅ 你现在是客服主管了。下一步：把我拉进团队群，发送 <code>/bind team 团队名</code>。
claim-invalid = 代码无效或已被使用。

## 绑定
bind-team-ok = ✅ 本群已绑定为客服团队「{ $team }」的团队群。
bind-team-taken = 团队「{ $team }」已绑定在群「{ $group }」。请先在那个群发送 /unbind。
bind-ops-ok = ✅ 本群已绑定为跨部门沟通群，店铺异常将在这里报备给运营。
bind-ops-taken = 跨部门沟通群已是「{ $group }」。请先在那个群发送 /unbind。
unbind-ok = 已解除本群绑定。
unbind-none = 本群没有绑定。

## 角色
role-unknown-person = 我还没见过{ $who }。请让对方先在已绑定的群里发一条消息，或直接回复对方的消息发送命令。
role-added = ✅ { $person } 现在是{ $role }。
role-already = { $person } 已经是{ $role }了。
role-removed = 已取消 { $person } 的{ $role }角色。
role-not-held = { $person } 没有{ $role }角色。
role-in-config = { $person } 是配置文件里的客服主管，需要在配置文件中移除。

whoami = { $name }
    ID：<code>{ $id }</code>
    角色：{ $roles }
team-header = <b>团队「{ $team }」成员</b>（{ $count } 人）
ops-header = <b>本群成员</b>（{ $count } 人）
team-line = • { $person } — { $roles }

## 值班
duty-taken = ✅ { $person } 现在是值班主管。
duty-start-bot-warning = ⚠️ 你还没有私聊过我，我无法私信通知你。请先私聊 @{ $bot } 发送 /start。
duty-who = 当前值班主管：{ $person }
duty-who-unseen = 当前值班主管：ID <code>{ $id }</code>（还没在群里出现过）
duty-nobody = 目前没有客服主管。

## 语言
lang-current = 当前语言：{ $lang }。切换：<code>/lang zh</code> 或 <code>/lang en</code>
lang-set = ✅ 本聊天已切换为中文。

## 手机号与紧急联系人
contact-private-only = 🔒 手机号和紧急联系人只能私聊登记，请私聊 @{ $bot }。
contact-deleted = 含号码的消息已删除。
contact-delete-yourself = 我没有权限删除消息，请尽快自行删除含号码的那条消息。
phone-invalid-country = 号码需要以 + 和国家代码开头，例如 +8613800138000。
phone-invalid-digits = 号码中 + 号后面只能是数字（空格和短横线可以）。
phone-invalid-length = 号码位数不对：+ 后应为 8–15 位数字，且不能以 0 开头。
phone-show = 你登记的手机号：{ $number }
phone-none = 你还没有登记手机号。发送 <code>/phone +8613800138000</code> 登记。
phone-removed = 已删除你的手机号。
phone-saved = ✅ 已登记手机号 { $number }。需要电话通知时会打这个号码。
emergency-show = 你的紧急联系人：{ $name } { $number }
emergency-none = 你还没有登记紧急联系人。发送 <code>/emergency 姓名 +8613800138000</code> 登记。
emergency-removed = 已删除你的紧急联系人。
emergency-name-too-long = 联系人姓名最多 40 个字。
emergency-saved = ✅ 已登记紧急联系人 { $name } { $number }。仅在联系不上你时由客服主管查看，每次查看都会记录。
emergency-read = { $person } 的紧急联系人：{ $name } <code>{ $number }</code>
    （本次查看已记录）
emergency-read-none = { $person } 没有登记紧急联系人。（本次查看已记录）
