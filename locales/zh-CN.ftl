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
command-team-group-only = /{ $command } 请在团队群里使用。
unknown-role = 没有「{ $given }」这个角色。可选：{ $known }
unknown-language = 不支持「{ $given }」。可选：<code>zh</code>（中文）、<code>en</code>（English）
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
cmd-lang = 切换语言：中文或 English

usage-start = <code>/start</code>
usage-help = <code>/help</code>
usage-claim = <code>/claim 8位代码</code>
usage-bind = <code>/bind team 团队名</code> 或 <code>/bind ops</code>
usage-unbind = <code>/unbind</code>
usage-role = <code>/role add|rm 角色 @用户名</code>，或回复某人的消息发送 <code>/role add|rm 角色</code>。角色：客服、组长、客服主管、运营、IT、综合管理、公关/法务
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
help-block = { $description }：
    { $usage }

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
role-reply-not-a-person = 回复的这条消息不是同事本人发的，无法设置角色。请回复对方自己发的消息。
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
lang-current = 当前语言：{ $lang }。切换：<code>/lang zh</code>（中文）或 <code>/lang en</code>（English）
language-zh-cn = 中文
language-en = English
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
error-internal-short = 处理出错了，请稍后再试。

## 店铺
platform-taobao = 淘宝
platform-tmall = 天猫
platform-jd = 京东
platform-pdd = 拼多多
platform-douyin = 抖音
platform-other = 其他
store-label = { $platform } · { $name }
store-and-kind = { $store } · { $kind }
store-line = • { $store }
store-unknown-platform = 没有「{ $given }」这个平台。可选：{ $known }
store-name-too-long = 店铺名称最多 40 个字。
store-added = ✅ 已添加店铺 { $store }（{ $team }）。
store-exists = 本团队已有店铺「{ $store }」。
store-removed = 已删除店铺「{ $store }」。
store-not-found = 本团队没有店铺「{ $store }」。发送 /stores 查看。
stores-none = 团队「{ $team }」还没有店铺。组长或客服主管可以发送 <code>/store add 天猫 旗舰店</code> 添加。
stores-header = <b>团队「{ $team }」的店铺</b>（{ $count } 个）
cmd-store = 添加或删除店铺
cmd-stores = 查看本团队的店铺
cmd-anomaly = 报备店铺异常
cmd-anomalies = 查看未处理的异常
cmd-incident = 查看异常记录详情
cmd-ack = 收到异常，我来处理
cmd-resolve = 异常已处理
usage-store = <code>/store add 平台 店铺名</code>（平台：淘宝、天猫、京东、拼多多、抖音、其他）；<code>/store rm 店铺名</code>
usage-stores = <code>/stores</code>
usage-anomaly = <code>/anomaly 店铺 类型 问题描述</code>，类型：优惠券、价格、库存、页面、其他；只发 <code>/anomaly</code> 会一步步询问
usage-anomalies = <code>/anomalies</code>
usage-incident = <code>/incident 编号</code>
usage-ack = <code>/ack 编号</code>
usage-resolve = <code>/resolve 编号 处理说明</code>
anomaly-word-coupon = 优惠券
anomaly-word-price = 价格
anomaly-word-stock = 库存
anomaly-word-page = 页面
anomaly-word-other = 其他

## 异常类型
kind-coupon = 优惠券设置错误
kind-price = 价格错误
kind-stock = 库存异常
kind-page = 详情页描述问题
kind-other = 其他问题

## 报备
anomaly-no-stores = 本团队还没有登记店铺。请组长或客服主管先发送 <code>/store add 天猫 旗舰店</code>。
anomaly-unknown-store = 没有找到店铺「{ $given }」。本团队的店铺：
    { $stores }
anomaly-unknown-kind = 没有「{ $given }」这个类型。可选：{ $known }
anomaly-too-long = 描述太长了，最多 { $limit } 个字。
anomaly-joined = 这个店铺的同类异常 #{ $number } 还在处理中，已把你的报备合并进去（+1）。
button-cancel = 取消
form-pick-store = 哪个店铺出了问题？
form-pick-kind = { $store } —— 是什么问题？
form-describe = { $store } · { $kind }
    请<b>回复本消息</b>写明具体问题（商品、错在哪里、顾客怎么说）。
form-not-yours = 这不是你的报备表单，或已过期。
form-cancelled = 已取消报备。
form-store-gone = 这个店铺已被删除。
form-chosen = 已选择：{ $chosen }
form-expired = ⌛ 报备表单 5 分钟未完成，已过期。需要时请重新发送 /anomaly。
anomaly-guidance = 接待顾客时：
    1. 先致歉，说明我们已经发现问题，正在核实；
    2. 请顾客稍候，问题处理好会第一时间回复；
    3. 运营确认之前，不承诺任何价格、赠品或补偿。
relay-header = 📣 <b>店铺异常报备</b> · 客服团队「{ $team }」

## 异常状态
incident-store = 店铺：{ $store }
incident-kind = 问题：{ $kind }
incident-description = 描述：{ $text }
incident-full-text = 全文：/incident { $number }
incident-reporter = 报备：{ $person } · { $time }
incident-joined = +1 报备：{ $person } · { $time }
incident-next-step = 下一步：{ $time } 仍没人回复的话，{ $actions }{ $target }
incident-acknowledged-by = ✅ { $person } 已收到（用时 { $duration }）
incident-resolved-by = ✅ { $person } 已处理 · { $time } · { $note }
incident-resolved-by-no-note = ✅ { $person } 已处理 · { $time }
incident-progress = 进展：
target-duty = 值班主管
target-backup = 备班主管
target-role = 全体{ $role }
action-call = 电话通知
action-private = 私信
action-mention = 在群里提醒
button-acknowledge = 收到，我来处理
button-resolve = 已处理
button-only-responders = 只有运营或客服主管可以操作。
ack-done = ✅ 已收到异常 #{ $number }。
ack-already = 异常 #{ $number } 已经有人收到了。
resolve-done = ✅ 异常 #{ $number } 已标记为已处理。
resolve-already = 异常 #{ $number } 已经处理过了。
incident-not-found = 没有编号为 #{ $number } 的异常记录。
duration-hours = { $hours } 小时 { $minutes } 分钟
duration-minutes = { $minutes } 分钟
duration-seconds = { $seconds } 秒

## 时间线
incident-header = <b>异常记录 #{ $number }</b> · { $what }
incident-time-to-ack = 收到用时：{ $duration }
incident-time-to-resolve = 处理用时：{ $duration }
event-reported = { $time } { $person } 报备
event-joined = { $time } { $person } 也报备了同一问题（+1）
event-relayed = { $time } 已转到跨部门沟通群
event-relay-failed = { $time } 还没有绑定跨部门沟通群，没能转给运营
event-step = { $time } 第 { $step } 轮提醒开始
event-step-late = { $time } 第 { $step } 轮提醒开始，比原定晚了 { $late }
event-step-nobody = { $time } 第 { $step } 轮提醒没有找到{ $target }，已跳过
event-private-sent = { $time } 已私信 { $person }
event-private-failed = { $time } 私信 { $person } 失败（对方还没私聊过我）
event-mentioned = { $time } 已在群里提醒 { $people }
event-call-placed = { $time } 已电话通知 { $person }
event-call-placed-again = { $time } 已电话通知 { $person }（重启后重拨，可能打了两次）
event-call-answered = { $time } { $person } 接听了电话
event-call-failed = { $time } 电话通知 { $person } 未接通（{ $status }）
event-call-retry = { $time } 将在 { $at } 再次电话通知 { $person }
event-call-no-number = { $time } { $person } 没有登记手机号，跳过电话通知
event-call-no-provider = { $time } 未配置电话服务，跳过电话通知 { $person }
event-call-error = { $time } 电话服务出错，没能打给 { $person }
event-call-unavailable = { $time } 电话服务暂时不可用，{ $at } 再打给 { $person }
event-call-cancelled = { $time } 已有人收到，挂断了打给 { $person } 的电话
event-acknowledged = { $time } { $person } 已收到
event-resolved = { $time } { $person } 已处理：{ $note }
event-resolved-no-note = { $time } { $person } 已处理
anomalies-none = 目前没有未关闭的异常。
anomalies-header = <b>未关闭的异常</b>（{ $count } 个）
anomalies-line = #{ $number } { $what } · { $ago }报备 · { $state }

## 升级提醒
escalation-private = ⚠️ <b>{ $title } #{ $number }</b>：运营 { $duration }未回复
    { $what }
    { $text }
    查看：/incident { $number }
escalation-private-finding = { $icon } <b>{ $title } #{ $number }</b> 需要你跟进（{ $severity }）
    { $text }
    查看：/incident { $number }
escalation-mention = { $people } { $title } #{ $number } 运营 { $duration }未回复，请跟进。
escalation-mention-finding = { $people } { $icon } { $title } #{ $number } 需要跟进（{ $severity }）：{ $text }
notify-acknowledged = { $reporter } 异常 #{ $number } { $person } 已收到，正在处理。
notify-resolved = { $reporter } 异常 #{ $number } 已由 { $person } 处理：{ $note }
notify-resolved-no-note = { $reporter } 异常 #{ $number } 已由 { $person } 处理。
call-one-anomaly = 这里是客服值班提醒。店铺异常 { $number } 号，{ $what }，运营还没有回复，请尽快处理。
call-one-other = 这里是客服值班提醒。{ $title } { $number } 号，{ $what }，请尽快处理。
call-one-other-plain = 这里是客服值班提醒。{ $title } { $number } 号，还没有人跟进，请尽快处理。
call-many = 这里是客服值班提醒。有 { $count } 个异常等待处理，编号 { $numbers }，请尽快处理。
spoken-store = { $platform }{ $name }
spoken-store-kind = { $store }，{ $kind }
spoken-list-separator = 、

## 合并消息：同一个群短时间内消息太多时，合并成一条
digest-relay-header = 📣 <b>异常报备 · { $count } 条</b>（短时间内报备较多，已合并，请逐条处理）
digest-team-header = 已记录 { $count } 条报备。接待顾客时：
    1. 先致歉，说明我们已经发现问题，正在核实；
    2. 请顾客稍候，问题处理好会第一时间回复；
    3. 运营确认之前，不承诺任何价格、赠品或补偿。
digest-line = { $icon } <b>#{ $number }</b> { $what }：{ $text } —— { $person } { $time } 报备 · { $state }
digest-state-waiting = 等待运营
digest-state-acknowledged = { $person } 处理中
digest-state-resolved = { $person } 已处理
digest-button-acknowledge = #{ $number } 收到
digest-button-resolve = #{ $number } 已处理
digest-mention = { $people } 以下异常运营还没有回复，请跟进：
digest-mention-line = <b>#{ $number }</b> { $what }（{ $time } 报备）
digest-private-header = ⚠️ <b>{ $count } 条异常需要你跟进</b>：
digest-private-line = <b>#{ $number }</b> { $what }：{ $text }（{ $time } 报备）
digest-notice-acknowledged = { $reporter } #{ $number } { $person } 已收到，正在处理
digest-notice-resolved = { $reporter } #{ $number } 已由 { $person } 处理

## 日常巡店：默认巡店清单（十项）
patrol-step-1-title = 账号登录
patrol-step-1-check = 每个店铺账号都已登录，咨询能正常进线
patrol-step-1-fix = 马上把没上线的账号登录上，漏一个就丢一批顾客
patrol-step-2-title = 离线消息
patrol-step-2-check = 夜间（约 0 点到 8 点）顾客留下的离线消息
patrol-step-2-fix = 上班第一时间回复，别等顾客再问或生气
patrol-step-3-title = 跨部门信息
patrol-step-3-check = 跨部门沟通群里的重要信息
patrol-step-3-fix = 看完、落实，一条不漏
patrol-step-4-title = 违规与投诉
patrol-step-4-check = 店铺后台和工作邮箱里的投诉、违规、扣分
patrol-step-4-fix = 立即处理，别让问题扩大
patrol-step-5-title = 昨日客服数据
patrol-step-5-check = 满意度、答问比、响应时间、回复率；客单价、询单转化率、销售额、退款率
patrol-step-5-fix = 有异常就找原因、马上改；没异常纳入日常质检
patrol-step-6-title = 平台考核指标
patrol-step-6-check = 服务体验分、新灯塔指标、京东星级店铺等
patrol-step-6-fix = 明显下降立即分析整改，这些分数决定店铺流量
patrol-step-7-title = 不满意明细
patrol-step-7-check = 满意度未达标时，在平台后台看不满意的具体会话
patrol-step-7-fix = 针对性整改
patrol-step-8-title = 高危行为质检
patrol-step-8-check = 机器人质检后台标出的高危接待行为
patrol-step-8-fix = 逐个查看被标记的客服，私下指导整改
patrol-step-9-title = 超时退款待审核
patrol-step-9-check = 等待过久的退货退款单
patrol-step-9-fix = 马上审核，退款速度影响顾客体验和平台分数
patrol-step-10-title = 中差评
patrol-step-10-check = 因客服原因产生的中差评
patrol-step-10-fix = 找原因并整改；没有就做日常评价维护

## 日常巡店：清单
weekday-mon = 周一
weekday-tue = 周二
weekday-wed = 周三
weekday-thu = 周四
weekday-fri = 周五
weekday-sat = 周六
weekday-sun = 周日
patrol-nobody = 未指定
patrol-header = 🗒 <b>日常巡店</b> · { $team } · { $date }
patrol-owner = 负责人：{ $owner } · 截止 { $deadline }
patrol-posted-late = ⚠️ 补发（原定 { $time } 发布）
patrol-progress = 进度：{ $done }/{ $total } 项
patrol-step-detail = {"    "}检查：{ $check }；处理：{ $fix }
patrol-done-line = ✅ { $time } 巡店完成
patrol-late-line = ⏰ 已过截止时间，尚未完成
patrol-step-name = { $number }. { $title }
patrol-step-line = { $mark } <b>{ $step }</b>{ $ticked }{ $note }{ $incident }
patrol-store-heading = <b>{ $step }</b>
patrol-store-line = {"    "}{ $mark } { $store }{ $ticked }{ $note }{ $incident }
patrol-item-ticked = {" — "}{ $person } { $time }
patrol-button-ok = { $number } ✅
patrol-button-issue = { $number } ⚠
patrol-button-na = { $number } 不适用
patrol-button-store-ok = { $store } ✅
patrol-button-store-offline = { $store } 掉线
patrol-stores-message = { $date } 账号登录：逐个确认各店铺，账号未登录的点「掉线」
patrol-reminder = { $owner } 巡店还有 { $left }截止（{ $deadline }），还差：{ $steps }
patrol-reminder-unowned = ⏰ 巡店还有 { $left }截止（{ $deadline }），还差：{ $steps }
patrol-late-group = { $supervisor } 团队「{ $team }」今天的巡店已过截止时间，还差：{ $steps }
patrol-late-private = ⏰ 团队「{ $team }」今天的巡店已过截止时间，还差：{ $steps }
patrol-summary = ✅ 今日巡店完成，用时 { $duration }，{ $issues ->
        [0] 未发现问题
       *[other] 发现 { $issues } 个问题
    }。
patrol-team-only = 只有本团队成员可以勾选。
patrol-already-ticked = 这一项已经有人处理了。
patrol-ticked = 已记录
patrol-ask-na = { $person } 第 { $step } 项「{ $title }」为什么不适用？请<b>回复本消息</b>说明原因。
patrol-ask-issue = { $person } 第 { $step } 项「{ $title }」发现了什么问题？请<b>回复本消息</b>写明。
patrol-ask-severity = 请选择预警级别：蓝色（自己处理）、黄色（主管介入）、红色（需要其他部门）。
patrol-issue-recorded = 已记录为异常 #{ $number }（{ $severity }）。
patrol-finding = { $step }：{ $note }
severity-blue = 蓝色预警
severity-yellow = 黄色预警
severity-red = 红色预警
patrol-severity-button = { $icon } { $severity }
relay-header-patrol = 📣 <b>巡店发现问题</b> · 客服团队「{ $team }」

## 日常巡店：命令
cmd-patrol = 日常巡店：今日清单、排班、历史
usage-patrol = <code>/patrol</code> 看今天的巡店清单
    <code>/patrol start</code> 现在开始今天的巡店
    <code>/patrol schedule 08:30 周一至周六 截止 09:30</code> 设置巡店时间
    <code>/patrol owner @用户名</code> 指定负责人；<code>/patrol owner 轮值</code> 组长轮值
    <code>/patrol steps</code> 看巡店清单
    <code>/patrol step add 标题 | 检查什么 | 怎么处理</code> 添加一项
    <code>/patrol step rm 序号</code> 删除一项
    <code>/patrol step edit 序号 标题 | 检查什么 | 怎么处理</code> 修改一项
    <code>/patrol history 7</code> 最近 7 天的巡店记录
patrol-not-posted = 今天的巡店清单还没有发布。组长或客服主管可以发送 <code>/patrol start</code> 现在开始。
patrol-moved = ⬇️ 巡店清单已更新，请看最新一条消息。
patrol-already-posted = 今天的巡店清单已经发布了，发送 /patrol 再看一次。
patrol-bad-time = 「{ $given }」不是时间，请写成 HH:MM，例如 08:30。
patrol-bad-days = 看不懂「{ $given }」。可以写：每天、工作日、周末、周一至周五、周一、周三、周五，也可以写 <code>daily</code>、<code>mon-fri</code>。
patrol-bad-deadline = 截止时间 { $deadline } 必须晚于开始时间 { $at }，且在同一天。
patrol-schedule-set = ✅ 巡店时间：{ $days } { $at }，截止 { $deadline }。下一次：{ $next }。
patrol-owner-set = ✅ 巡店负责人：{ $person }。
patrol-owner-rotation = ✅ 巡店负责人改为组长轮值。
patrol-steps-header = <b>巡店清单</b>（共 { $count } 项）
patrol-steps-line = { $number }. <b>{ $title }</b> — 检查：{ $check }；处理：{ $fix }
patrol-step-added = ✅ 已添加第 { $number } 项「{ $title }」，明天起生效。
patrol-step-removed = ✅ 已删除第 { $number } 项「{ $title }」，明天起生效。
patrol-step-edited = ✅ 已修改第 { $number } 项「{ $title }」，明天起生效。
patrol-step-unknown = 没有第「{ $given }」项，清单共 { $count } 项。发送 <code>/patrol steps</code> 查看。
patrol-history-days = 「{ $given }」不是天数，请写 1 到 90，例如 <code>/patrol history 7</code>。
patrol-history-header = <b>最近 { $days } 天的巡店</b>
patrol-history-late = ，超时 { $duration }
patrol-history-done = { $date } ✅ { $time } 完成（{ $person }{ $late }）· 问题：{ $issues }
patrol-history-open = { $date } ❌ 未完成 · 问题：{ $issues }
patrol-history-by-step = <b>各项发现问题次数</b>
patrol-history-step-line = • { $title }：{ $count } 次
patrol-history-no-issues = 无

## 列表与连接词
list-separator = 、
or-separator = 或
patrol-item-note = ：{ $note }
patrol-item-incident = （#{ $number }）

## 日期与时长
date = { $month }{ $day }日 { $weekday }
month-1 = 1月
month-2 = 2月
month-3 = 3月
month-4 = 4月
month-5 = 5月
month-6 = 6月
month-7 = 7月
month-8 = 8月
month-9 = 9月
month-10 = 10月
month-11 = 11月
month-12 = 12月
duration-days = { $days } 天 { $hours } 小时
time-ago = { $duration }前
days-every-day = 每天
days-none = 不安排
days-range = { $first }至{ $last }

## 异常：状态与说法
incident-title-store_anomaly = 店铺异常
incident-title-patrol_issue = 巡店问题
incident-title-account_offline = 店铺账号掉线
incident-status = { $icon } { $title } #{ $number } · { $state }
incident-state-waiting-ops = 等待运营处理
incident-state-waiting-supervisor = 等待主管跟进
incident-state-recorded = 已记录，组内处理
incident-state-handling = 处理中
incident-state-resolved = 已处理（用时 { $duration }）
incident-waiting-ops = ⏳ { $time } 报备，运营还没回复
incident-waiting-supervisor = ⏳ { $time } 报备，主管还没回复
anomaly-recorded = 已记录，异常编号 <b>#{ $number }</b>，正在转给运营。
anomaly-relayed = 已转给运营，异常编号 <b>#{ $number }</b>。
anomaly-not-relayed = 已记录，异常编号 <b>#{ $number }</b>。⚠️ 还没有绑定跨部门沟通群，没能转给运营，请客服主管在运营所在的群发送 <code>/bind ops</code>。
anomaly-if-no-reply = 运营 { $duration }内没有回复的话，会{ $actions }{ $target }。
parts-separator = {" · "}
call-status-busy = 占线
call-status-no-answer = 无人接听
call-status-failed = 呼叫失败
call-status-canceled = 已取消
call-status-other = 没有接通
incident-progress-line = • { $line }
anomaly-recorded-only = 已记录，异常编号 <b>#{ $number }</b>。
