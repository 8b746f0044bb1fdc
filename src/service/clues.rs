//! Clues: staff write them with a reveal rule; players read what their team has and buy clues for points.

use chrono::{DateTime, Utc};

use super::Ctx;
use super::hunts::editor_org;
use super::teams::{player_of, team_of};
use crate::db;
use crate::db::clues::ClueRecord;
use crate::domain::account::Principal;
use crate::domain::clue::ClueRule;
use crate::domain::event::{ClueRevealed, NewEvent, RevealRule, ScoreChanged};
use crate::domain::ids::{ClueId, HuntId};
use crate::error::AppError;

/// Creates a clue in a hunt of the caller's organisation (owner or editor).
pub async fn create_clue(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    text: &str,
    media_url: Option<String>,
    rule: ClueRule,
) -> Result<ClueRecord, AppError> {
    let org = editor_org(principal)?;
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 2000 {
        return Err(AppError::invalid_field(
            "/text",
            "must have 1 to 2000 characters",
        ));
    }
    if let Some(url) = &media_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
            return Err(AppError::invalid_field(
                "/media_url",
                "must be an http(s) URL",
            ));
        }
    }
    if let ClueRule::Cost(c) = rule {
        if c <= 0 {
            return Err(AppError::invalid_field(
                "/rule/cost",
                "must be a positive number of points",
            ));
        }
    }
    let mut conn = ctx.pool.get().await?;
    db::hunts::get_for_org(&mut conn, org, hunt, false)
        .await?
        .ok_or(AppError::NotFound("hunt"))?;
    if let ClueRule::AfterTarget(t) = rule {
        if db::targets::get(&mut conn, hunt, t).await?.is_none() {
            return Err(AppError::invalid_field(
                "/rule/after_target",
                "must be a target of this hunt",
            ));
        }
    }
    let clue = ClueRecord {
        id: uuid::Uuid::new_v4(),
        text: text.to_owned(),
        media_url,
        rule,
    };
    db::clues::insert(&mut conn, hunt, &clue).await?;
    Ok(clue)
}

/// A clue as a player sees it: text once revealed, the price while it is for sale.
#[derive(Debug, Clone)]
pub struct PlayerClue {
    pub id: uuid::Uuid,
    pub revealed_at: Option<DateTime<Utc>>,
    pub text: Option<String>,
    pub media_url: Option<String>,
    pub cost: Option<i32>,
}

/// The team's revealed clues and the ones it can buy (locked timed and target clues stay hidden).
pub async fn list_clues(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
) -> Result<Vec<PlayerClue>, AppError> {
    let player = player_of(principal)?;
    let mut conn = ctx.pool.get().await?;
    let team = team_of(&mut conn, hunt, player).await?;
    let clues = db::clues::for_team(&mut conn, hunt, team).await?;
    Ok(clues
        .into_iter()
        .filter_map(|(c, revealed_at)| match (revealed_at, c.rule) {
            (Some(at), _) => Some(PlayerClue {
                id: c.id,
                revealed_at: Some(at),
                text: Some(c.text),
                media_url: c.media_url,
                cost: None,
            }),
            (None, ClueRule::Cost(cost)) => Some(PlayerClue {
                id: c.id,
                revealed_at: None,
                text: None,
                media_url: None,
                cost: Some(cost),
            }),
            (None, _) => None,
        })
        .collect())
}

/// Buys a clue for the team: spends its points and reveals it, exactly once under concurrent buys.
pub async fn buy_clue(
    ctx: &Ctx,
    principal: Principal,
    hunt: HuntId,
    clue_id: uuid::Uuid,
) -> Result<(PlayerClue, i64), AppError> {
    use diesel_async::AsyncConnection;
    let player = player_of(principal)?;
    let now = ctx.clock.now();
    let mut conn = ctx.pool.get().await?;
    let out = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let team = team_of(conn, hunt, player).await?;
            let clue = db::clues::get(conn, hunt, clue_id)
                .await?
                .ok_or(AppError::NotFound("clue"))?;
            let ClueRule::Cost(cost) = clue.rule else {
                return Err(AppError::conflict(
                    "clue_not_for_sale",
                    "this clue is revealed by its rule, not sold",
                ));
            };
            // The team row lock serialises buys of one team, so points are spent once.
            let score = db::teams::lock_for_spending(conn, team).await?;
            let frozen = db::hunts::frozen_for_share(conn, hunt).await?;
            if !db::clues::reveal(conn, hunt, team, clue_id, now).await? {
                return Err(AppError::conflict(
                    "clue_already_revealed",
                    "your team already has this clue",
                ));
            }
            if score < i64::from(cost) {
                return Err(AppError::conflict(
                    "not_enough_points",
                    format!("this clue costs {cost} points, your team has {score}"),
                ));
            }
            let score = db::teams::add_score(conn, team, -i64::from(cost)).await?;
            let events = [
                NewEvent::clue_revealed(
                    team,
                    ClueRevealed {
                        clue_id: ClueId(clue.id),
                        text: clue.text.clone(),
                        media_url: clue.media_url.clone(),
                        rule: RevealRule::Cost,
                        cost: Some(cost),
                    },
                ),
                NewEvent::score_changed(
                    ScoreChanged {
                        team_id: team,
                        score,
                        delta: -i64::from(cost),
                        player_id: None,
                        player_score: None,
                    },
                    frozen,
                ),
            ];
            db::events::append(conn, hunt, &events).await?;
            let view = PlayerClue {
                id: clue.id,
                revealed_at: Some(now),
                text: Some(clue.text),
                media_url: clue.media_url,
                cost: Some(cost),
            };
            Ok((view, score))
        })
        .await?;
    ctx.sequencer.notify_one();
    Ok(out)
}
