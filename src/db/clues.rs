//! Clues and their reveals (exactly once per team: the primary key of `clue_reveals` decides).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::domain::clue::ClueRule;
use crate::domain::ids::{HuntId, TargetId, TeamId};

/// A clue as stored.
#[derive(Debug, Clone)]
pub struct ClueRecord {
    pub id: uuid::Uuid,
    pub text: String,
    pub media_url: Option<String>,
    pub rule: ClueRule,
}

#[derive(QueryableByName)]
struct ClueRow {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    text: String,
    #[diesel(sql_type = Nullable<Text>)]
    media_url: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    reveal_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    after_target: Option<uuid::Uuid>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Int4>)]
    cost: Option<i32>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    revealed_at: Option<DateTime<Utc>>,
}

impl ClueRow {
    fn into_record(self) -> Option<(ClueRecord, Option<DateTime<Utc>>)> {
        let rule = match (self.reveal_at, self.after_target, self.cost) {
            (Some(at), None, None) => ClueRule::At(at),
            (None, Some(t), None) => ClueRule::AfterTarget(TargetId(t)),
            (None, None, Some(c)) => ClueRule::Cost(c),
            _ => return None,
        };
        Some((
            ClueRecord {
                id: self.id,
                text: self.text,
                media_url: self.media_url,
                rule,
            },
            self.revealed_at,
        ))
    }
}

/// Inserts a clue.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    clue: &ClueRecord,
) -> QueryResult<()> {
    let (at, target, cost) = match clue.rule {
        ClueRule::At(at) => (Some(at), None, None),
        ClueRule::AfterTarget(t) => (None, Some(t.0), None),
        ClueRule::Cost(c) => (None, None, Some(c)),
    };
    super::prepared::prepared(diesel::sql_query(
        "insert into clues (id, hunt_id, text, media_url, reveal_at, after_target, cost) values ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind::<SqlUuid, _>(clue.id)
    .bind::<SqlUuid, _>(hunt.0)
    .bind::<Text, _>(&clue.text)
    .bind::<Nullable<Text>, _>(clue.media_url.as_deref())
    .bind::<Nullable<Timestamptz>, _>(at)
    .bind::<Nullable<SqlUuid>, _>(target)
    .bind::<Nullable<diesel::sql_types::Int4>, _>(cost))
    .execute(conn)
    .await
    .map(drop)
}

/// The hunt's clues with, for `team`, when each was revealed to it.
pub async fn for_team(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    team: TeamId,
) -> QueryResult<Vec<(ClueRecord, Option<DateTime<Utc>>)>> {
    let rows: Vec<ClueRow> = super::prepared::prepared(
        diesel::sql_query(
            "select c.id, c.text, c.media_url, c.reveal_at, c.after_target, c.cost, r.revealed_at \
         from clues c left join clue_reveals r on r.clue_id = c.id and r.team_id = $2 \
         where c.hunt_id = $1 order by c.created_at, c.id",
        )
        .bind::<SqlUuid, _>(hunt.0)
        .bind::<SqlUuid, _>(team.0),
    )
    .load(conn)
    .await?;
    Ok(rows.into_iter().filter_map(ClueRow::into_record).collect())
}

/// One clue of a hunt.
pub async fn get(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    clue: uuid::Uuid,
) -> QueryResult<Option<ClueRecord>> {
    let row: Option<ClueRow> = super::prepared::prepared(diesel::sql_query(
        "select id, text, media_url, reveal_at, after_target, cost, null::timestamptz as revealed_at \
         from clues where hunt_id = $1 and id = $2",
    )
    .bind::<SqlUuid, _>(hunt.0)
    .bind::<SqlUuid, _>(clue))
    .get_result(conn)
    .await
    .optional()?;
    Ok(row.and_then(|r| r.into_record().map(|(c, _)| c)))
}

/// Records a reveal; false when the team already had it.
pub async fn reveal(
    conn: &mut AsyncPgConnection,
    hunt: HuntId,
    team: TeamId,
    clue: uuid::Uuid,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    let n = super::prepared::prepared(diesel::sql_query(
        "insert into clue_reveals (team_id, clue_id, hunt_id, revealed_at) values ($1, $2, $3, $4) on conflict do nothing",
    )
    .bind::<SqlUuid, _>(team.0)
    .bind::<SqlUuid, _>(clue)
    .bind::<SqlUuid, _>(hunt.0)
    .bind::<Timestamptz, _>(at))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// A new find that may unlock clues.
#[derive(Debug, Clone, Copy)]
pub struct Unlock {
    pub hunt: HuntId,
    pub team: TeamId,
    pub target: TargetId,
    pub at: DateTime<Utc>,
}

/// Reveals to each finding team the clues unlocked by its new finds, with their `clue_revealed`
/// events, in one statement. Returns how many were revealed.
pub async fn reveal_after_targets(
    mut conn: &AsyncPgConnection,
    finds: &[Unlock],
) -> QueryResult<usize> {
    if finds.is_empty() {
        return Ok(0);
    }
    let hunts: Vec<uuid::Uuid> = finds.iter().map(|f| f.hunt.0).collect();
    let teams: Vec<uuid::Uuid> = finds.iter().map(|f| f.team.0).collect();
    let targets: Vec<uuid::Uuid> = finds.iter().map(|f| f.target.0).collect();
    let at: Vec<DateTime<Utc>> = finds.iter().map(|f| f.at).collect();
    super::prepared::prepared(diesel::sql_query(
        "with f as (select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[]) with ordinality \
                        as f(hunt_id, team_id, target_id, at, n)), \
         ins as ( \
             insert into clue_reveals (team_id, clue_id, hunt_id, revealed_at) \
             select f.team_id, c.id, f.hunt_id, f.at from f \
             join clues c on c.hunt_id = f.hunt_id and c.after_target = f.target_id \
             order by f.n, c.created_at, c.id \
             on conflict do nothing returning team_id, clue_id, hunt_id), \
         ev as ( \
             insert into events (hunt_id, kind, team_id, data) \
             select ins.hunt_id, 'clue_revealed', ins.team_id, jsonb_build_object('clue_id', c.id, 'text', c.text, 'media_url', c.media_url, 'rule', 'after_target', 'cost', null) \
             from ins join clues c on c.id = ins.clue_id order by ins.team_id, c.created_at, c.id \
             returning id) \
         insert into push_jobs (event_id) select id from ev",
    )
    .bind::<Array<SqlUuid>, _>(hunts)
    .bind::<Array<SqlUuid>, _>(teams)
    .bind::<Array<SqlUuid>, _>(targets)
    .bind::<Array<Timestamptz>, _>(at))
    .execute(&mut conn)
    .await
}

/// Reveals every due timed clue to every team that lacks it, with events and their push jobs, in one statement; safe
/// to run on every node at once. Returns how many reveals it made.
pub async fn reveal_due(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    super::prepared::prepared(diesel::sql_query(
        "with due as ( \
             select c.id as clue_id, c.hunt_id, t.id as team_id from clues c \
             join hunts h on h.id = c.hunt_id and h.status <> 'draft' \
             join teams t on t.hunt_id = c.hunt_id \
             where c.reveal_at <= $1 \
               and not exists (select 1 from clue_reveals r where r.team_id = t.id and r.clue_id = c.id)), \
         ins as ( \
             insert into clue_reveals (team_id, clue_id, hunt_id, revealed_at) \
             select team_id, clue_id, hunt_id, $1 from due on conflict do nothing returning team_id, clue_id, hunt_id), \
         ev as ( \
             insert into events (hunt_id, kind, team_id, data) \
             select ins.hunt_id, 'clue_revealed', ins.team_id, \
                    jsonb_build_object('clue_id', c.id, 'text', c.text, 'media_url', c.media_url, 'rule', 'at', 'cost', null) \
             from ins join clues c on c.id = ins.clue_id \
             returning id) \
         insert into push_jobs (event_id) select id from ev",
    )
    .bind::<Timestamptz, _>(now))
    .execute(conn)
    .await
}
