-- 008: decisions from the official injury report (docs/injury-reports.md, "Decisions").
-- Each prediction carries what the latest report published by its as-of time said about the player
-- (warehouse.injuries.player_availability): the status, the report read and that as-of time. A player
-- listed OUT gets no OVER/UNDER (recommendation PASS, or NO_LINE without a line) and decision_reason says
-- why. A graded DNP (void) says what the report had said before the game (void_reason).
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS injury_status VARCHAR;
    -- OUT | DOUBTFUL | QUESTIONABLE | PROBABLE | AVAILABLE; NULL = not listed, or no report by the as-of time
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS injury_report_time TIMESTAMPTZ;
    -- the report read (latest report_time <= injury_as_of listing the game date); NULL = none by then
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS injury_as_of TIMESTAMPTZ;
    -- the prediction's as-of time for the report: min(prediction time, the game's tip-off)
ALTER TABLE player_prop_predictions ADD COLUMN IF NOT EXISTS decision_reason VARCHAR;
    -- why a rule overrode the recommendation ('listed_out'); NULL = the model's recommendation stands
-- the archive keeps the same columns (remediate / restore copy rows BY NAME)
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS injury_status VARCHAR;
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS injury_report_time TIMESTAMPTZ;
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS injury_as_of TIMESTAMPTZ;
ALTER TABLE prediction_archive ADD COLUMN IF NOT EXISTS decision_reason VARCHAR;
ALTER TABLE prediction_grades ADD COLUMN IF NOT EXISTS void_reason VARCHAR;
    -- on a DNP (is_void): dnp_listed_out | dnp_listed_doubtful | dnp_listed_questionable | dnp_listed_probable
    -- | dnp_listed_available | dnp_not_listed (a report covered the date, the player was not on it)
    -- | dnp_no_report (no report of the date by the prediction's as-of time); NULL when the player played
