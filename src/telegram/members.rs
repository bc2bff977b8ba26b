//! The bot's own membership: added to a group, removed from it, made an administrator, and a
//! group upgraded to a supergroup. What the bot may do in a group is learnt here, so it never
//! asks Telegram for something it knows will be refused.

use std::sync::Arc;

use teloxide::types::{Chat, ChatMemberKind, ChatMemberUpdated};

use super::context::Floor;
use crate::db::chats;
use crate::domain::outbound::Outgoing;
use crate::t;

/// What kind of chat this is, as stored.
pub fn chat_type(chat: &Chat) -> &'static str {
    if chat.is_private() {
        "private"
    } else if chat.is_supergroup() {
        "supergroup"
    } else if chat.is_group() {
        "group"
    } else {
        "channel"
    }
}

/// Whether a member with this status may delete other people's messages.
fn can_delete(kind: &ChatMemberKind) -> bool {
    match kind {
        ChatMemberKind::Owner(_) => true,
        ChatMemberKind::Administrator(admin) => admin.can_delete_messages,
        _ => false,
    }
}

/// Asks Telegram what the bot may do in a group it was just bound in, and remembers whether
/// it may delete messages there. Unknown means no.
pub async fn learn_rights(floor: &Floor, chat_id: i64) {
    let Some(bot_id) = floor.bot_id.get().copied() else { return };
    let body = serde_json::json!({ "chat_id": chat_id, "user_id": bot_id });
    let member = match floor.lane.call_with_retry("getChatMember", &body).await {
        Ok(member) => member,
        Err(error) => {
            tracing::warn!(chat_id, %error, "could not ask what the bot may do in this group");
            return;
        }
    };
    let may = match member["status"].as_str() {
        Some("creator") => true,
        Some("administrator") => member["can_delete_messages"].as_bool() == Some(true),
        _ => false,
    };
    if let Err(error) = chats::set_can_delete(&floor.db, chat_id, may).await {
        tracing::warn!(chat_id, %error, "could not record what the bot may do in this group");
    }
}

/// `my_chat_member`: the bot's own status in a group changed.
pub async fn on_my_chat_member(floor: Arc<Floor>, update: ChatMemberUpdated) -> anyhow::Result<()> {
    let chat = &update.chat;
    if chat.is_private() || chat.is_channel() {
        return Ok(());
    }
    let now = floor.now();
    let chat_id = chat.id.0;
    if !update.new_chat_member.is_present() {
        tracing::info!(chat_id, "removed from a group; its binding is now inactive");
        chats::deactivate_chat(&floor.db, chat_id, now).await?;
        return Ok(());
    }
    let newly_added = !update.old_chat_member.is_present();
    chats::reactivate_chat(&floor.db, chat_id, chat_type(chat), chat.title(), now).await?;
    chats::set_can_delete(&floor.db, chat_id, can_delete(&update.new_chat_member.kind)).await?;
    if newly_added {
        tracing::info!(chat_id, "added to a group");
        let lang = floor.chat_language(chat_id).await;
        let hint = t!(floor.i18n, lang, "added-to-group");
        if let Err(error) = floor.lane.send(chat_id, Outgoing::new(hint)).await {
            tracing::warn!(chat_id, %error, "could not greet a new group");
        }
    }
    Ok(())
}
