//! `prepared(sql_query(..).bind(..))`: a raw SQL query that may use the connection's prepared
//! statement cache. Diesel never caches `sql_query` (its text might be built at run time); ours are
//! `'static` strings, and on the check-in path a statement prepared once saves a round trip and a
//! plan per call.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A raw query whose SQL text never varies between calls, safe to prepare once per connection.
#[derive(Debug, Clone)]
pub struct Prepared<Q>(Q);

/// Marks a `sql_query` built from a `'static` SQL string as safe to prepare once per connection.
pub fn prepared<Q>(query: Q) -> Prepared<Q> {
    Prepared(query)
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}
