-- The platform's core events, emitted by triggers on the core tables: what each means
-- and an example payload.

INSERT INTO wib.event_types (event_type, description, example) VALUES
    ('call.started', 'A call was created (placed or received).',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "direction": "outbound", "status": "queued", "from_number": "+15550100", "to_number": "+15550199", "agent_id": "agent-1", "started_at": "2026-01-01T12:00:00Z"}'),
    ('call.completed', 'A call''s status became completed.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "direction": "outbound", "status": "completed", "disposition": "answered", "agent_id": "agent-1", "started_at": "2026-01-01T12:00:00Z", "ended_at": "2026-01-01T12:04:10Z", "duration_seconds": 250}'),
    ('call.failed', 'A call ended as failed, busy, no_answer or canceled.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "status": "no_answer"}'),
    ('recording.ready', 'A recording finished processing.',
     '{"recording_id": "5f0e9d5c-1f0a-4a8e-8d0e-0c5a1b2c3d4e", "call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "recording_url": "https://media.example.com/r/5f0e.mp3", "duration_seconds": 248}'),
    ('transcript.ready', 'A recording''s transcript became available.',
     '{"recording_id": "5f0e9d5c-1f0a-4a8e-8d0e-0c5a1b2c3d4e", "call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11"}'),
    ('sentiment.analyzed', 'The AI summary and sentiment of a call were stored.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "overall_sentiment": "positive", "sentiment_score": 0.62, "summary": "Customer agreed to a demo."}'),
    ('outcome.recorded', 'The outcome of a call was recorded.',
     '{"call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "outcome": "sale", "is_success": true, "value_amount": 1200.00}'),
    ('scorecard.created', 'A call was scored by a reviewer.',
     '{"scorecard_id": "7a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "call_id": "0b6c3f5e-8d1a-4d43-9a39-6f1b2d0f6a11", "agent_id": "agent-1", "total_score": 87.5}')
ON CONFLICT (event_type) DO UPDATE SET description = EXCLUDED.description, example = EXCLUDED.example;
