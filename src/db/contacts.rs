//! Phone numbers and emergency contacts, and the record of who read whose contact.

use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

use crate::domain::contact::{EmergencyContact, PhoneNumber};

pub async fn set_phone(db: &SqlitePool, user_id: i64, number: &PhoneNumber, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO phone_numbers (user_id, number, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET number = excluded.number, updated_at = excluded.updated_at",
        user_id,
        number.as_str(),
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn phone(db: &SqlitePool, user_id: i64) -> sqlx::Result<Option<PhoneNumber>> {
    let number: Option<String> =
        sqlx::query_scalar!("SELECT number FROM phone_numbers WHERE user_id = ?", user_id).fetch_optional(db).await?;
    // Stored numbers were validated on the way in; a row that no longer parses is ignored.
    Ok(number.and_then(|number| PhoneNumber::parse(&number).ok()))
}

/// Removes the number; returns whether there was one.
pub async fn remove_phone(db: &SqlitePool, user_id: i64) -> sqlx::Result<bool> {
    let result = sqlx::query!("DELETE FROM phone_numbers WHERE user_id = ?", user_id).execute(db).await?;
    Ok(result.rows_affected() > 0)
}

pub async fn set_emergency_contact(
    db: &SqlitePool,
    user_id: i64,
    name: &str,
    number: &PhoneNumber,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query!(
        "INSERT INTO emergency_contacts (user_id, contact_name, number, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (user_id) DO UPDATE SET contact_name = excluded.contact_name, number = excluded.number,
         updated_at = excluded.updated_at",
        user_id,
        name,
        number.as_str(),
        now,
    )
    .execute(db)
    .await?;
    Ok(())
}

pub async fn emergency_contact(db: &SqlitePool, user_id: i64) -> sqlx::Result<Option<EmergencyContact>> {
    let row = sqlx::query!("SELECT contact_name, number FROM emergency_contacts WHERE user_id = ?", user_id)
        .fetch_optional(db)
        .await?;
    Ok(row.and_then(|row| {
        PhoneNumber::parse(&row.number).ok().map(|number| EmergencyContact { name: row.contact_name, number })
    }))
}

pub async fn remove_emergency_contact(db: &SqlitePool, user_id: i64) -> sqlx::Result<bool> {
    let result = sqlx::query!("DELETE FROM emergency_contacts WHERE user_id = ?", user_id).execute(db).await?;
    Ok(result.rows_affected() > 0)
}

/// Reads someone's emergency contact on behalf of a supervisor, recording the read in the
/// same transaction (so no read goes unrecorded).
pub async fn read_emergency_contact_as(
    db: &SqlitePool,
    reader_id: i64,
    subject_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<EmergencyContact>> {
    let mut transaction = crate::db::begin(db).await?;
    sqlx::query!(
        "INSERT INTO emergency_contact_reads (reader_id, subject_id, read_at) VALUES (?, ?, ?)",
        reader_id,
        subject_id,
        now,
    )
    .execute(&mut *transaction)
    .await?;
    let row = sqlx::query!("SELECT contact_name, number FROM emergency_contacts WHERE user_id = ?", subject_id)
        .fetch_optional(&mut *transaction)
        .await?;
    transaction.commit().await?;
    Ok(row.and_then(|row| {
        PhoneNumber::parse(&row.number).ok().map(|number| EmergencyContact { name: row.contact_name, number })
    }))
}

/// One recorded read: who read whose contact, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyRead {
    pub reader_id: i64,
    pub subject_id: i64,
    pub read_at: DateTime<Utc>,
}

pub async fn emergency_reads(db: &SqlitePool, subject_id: i64) -> sqlx::Result<Vec<EmergencyRead>> {
    sqlx::query_as!(
        EmergencyRead,
        r#"SELECT reader_id, subject_id, read_at AS "read_at: DateTime<Utc>" FROM emergency_contact_reads
         WHERE subject_id = ? ORDER BY id"#,
        subject_id,
    )
    .fetch_all(db)
    .await
}
