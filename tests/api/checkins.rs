//! Check-ins end to end: verdict order, policies, idempotency, exactly-once finds, prerequisites.
