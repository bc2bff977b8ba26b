//! A half-filled `/anomaly` form's five minutes are up: it goes, without side effects, and
//! its prompt says so.

use super::Deps;
use crate::db;
use crate::t;

/// The `form_expiry` job (payload `chat:user`). A form renewed since its timer was set is
/// left for a later timer.
pub(super) async fn expire(deps: &Deps, payload: &str) -> anyhow::Result<()> {
    let Some((chat_id, user_id)) = payload.split_once(':') else { return Ok(()) };
    let (Ok(chat_id), Ok(user_id)) = (chat_id.parse::<i64>(), user_id.parse::<i64>()) else { return Ok(()) };
    let Some(form) = db::forms::load(&deps.db, chat_id, user_id).await? else { return Ok(()) };
    if form.expires_at > deps.now() {
        return Ok(());
    }
    db::forms::delete(&deps.db, chat_id, user_id).await?;
    if let Some(prompt) = super::message_id(form.prompt_message_id) {
        let lang = deps.chat_language(chat_id).await;
        let text = t!(deps.i18n, lang, "form-expired");
        deps.messenger.edit(chat_id, prompt, text, None).await.ok();
    }
    Ok(())
}
