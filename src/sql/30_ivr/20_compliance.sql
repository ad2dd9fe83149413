-- Compliance: what an IVR may not say (persuasion or commitment), per the platform's AI role
-- policy.  Operators (wib_admin) edit the list.

INSERT INTO wib.ivr_prohibited_phrases (phrase, reason) VALUES
    ('I can offer', 'persuasion'), ('we can offer', 'persuasion'), ('special offer', 'persuasion'),
    ('you should', 'persuasion'), ('you must buy', 'persuasion'), ('I recommend', 'persuasion'),
    ('act now', 'persuasion'), ('limited time', 'persuasion'), ('don''t miss', 'persuasion'),
    ('best deal', 'persuasion'), ('let''s negotiate', 'negotiation'), ('we can negotiate', 'negotiation'),
    ('I promise', 'commitment'), ('we promise', 'commitment'), ('guaranteed', 'commitment'),
    ('guarantee', 'commitment'), ('risk-free', 'commitment'), ('no risk', 'commitment')
ON CONFLICT DO NOTHING;

-- Raises WB302 naming the phrase and the field when text contains a prohibited
-- phrase: case-insensitive, on word boundaries, any run of spaces matching one.
CREATE OR REPLACE FUNCTION wib.ivr_compliance_check(txt text, field text) RETURNS void
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    hit text;
BEGIN
    IF txt IS NULL OR btrim(txt) = '' THEN
        RETURN;
    END IF;
    SELECT p.phrase INTO hit
      FROM wib.ivr_prohibited_phrases p
     WHERE txt ~* ('(^|[^[:alnum:]_])'
                   || regexp_replace(regexp_replace(p.phrase, '([].^$*+?(){}|[\\])', '\\\1', 'g'), '\s+', '\\s+', 'g')
                   || '($|[^[:alnum:]_])')
     ORDER BY length(p.phrase) DESC, p.phrase
     LIMIT 1;
    IF hit IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'WB302',
            MESSAGE = format('prohibited phrase "%s" in %s', hit, field),
            DETAIL = 'IVR texts may not persuade, negotiate or make commitments (see wib.ivr_prohibited_phrases).',
            HINT = 'Reword the text so that it informs without persuading or promising.';
    END IF;
END
$$;
COMMENT ON FUNCTION wib.ivr_compliance_check(text, text) IS
    'Raises WB302 naming the phrase and field when txt contains a phrase of wib.ivr_prohibited_phrases (case-insensitive, word boundaries).';
