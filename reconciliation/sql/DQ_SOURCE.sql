/* check
id = "DQ_SOURCE_MISSING"
family = "source"
category = "data_quality"
severity = "medium"
title = "Expected source missing"
rule = '''
A source the night should hold delivered nothing: one the configuration requires
(dq_required_sources, ';'-separated source ids such as platform/financings.csv — high, and the
night's reports are not published as final) or one that delivered on more than half of the trailing
20 nights, with at least dq_learned_min_nights of history (medium).
'''
[params]
dq_required_sources = ""
dq_learned_min_nights = 3
*/
/* check
id = "DQ_SOURCE_LATE"
family = "source"
category = "data_quality"
severity = "medium"
title = "Source delivered late"
rule = '''
A source's file for the night arrived (its modification time at the source) after the night's
cut-off, [nightly] cutoff (Asia/Shanghai) on the next day, when the scheduled night runs with what
has arrived. While it is the source's last delivery, a document not found that it would hold is
pending.
'''
*/
/* check
id = "DQ_SOURCE_EMPTY"
family = "source"
category = "data_quality"
severity = "medium"
title = "Source delivered no record"
rule = '''
A source delivered files holding no record (an empty file or a header alone). While it is the
source's last delivery, a document not found that it would hold is pending.
'''
*/
/* check
id = "DQ_SCHEMA_DRIFT"
family = "source"
category = "data_quality"
severity = "high"
title = "Source changed its columns"
rule = '''
A CSV source's header lacks a required column (a renamed or dropped column: the file is refused) or
differs from its previous delivery (new, dropped or reordered columns). The night's reports are not
published as final.
'''
*/
/* check
id = "DQ_QUARANTINE_RATE"
family = "source"
category = "data_quality"
severity = "high"
title = "Too many records quarantined"
rule = '''
A source's quarantine records exceed dq_quarantine_max_percent % of its records (loaded rows plus
quarantined ones; a refused file counts as one), judged for sources of at least
dq_quarantine_min_records records. The night's reports are not published as final.
'''
[params]
dq_quarantine_max_percent = 10
dq_quarantine_min_records = 50
*/
/* check
id = "DQ_VOLUME_DROP"
family = "source"
category = "data_quality"
severity = "medium"
title = "Volume collapse"
rule = '''
A source delivered fewer rows than dq_volume_min_percent % of the median of its trailing deliveries
of new bytes (at least dq_learned_min_nights of them, with a median of at least dq_volume_min_median
rows: smaller sources vary too much from night to night to judge).
'''
[params]
dq_volume_min_percent = 50
dq_volume_min_median = 100
dq_learned_min_nights = 3
*/
SELECT NULL AS financing_id, NULL AS voucher_id, NULL AS invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       CASE WHEN bool_or(blocking) THEN {{Severity.HIGH}} ELSE {{Severity.MEDIUM}} END AS severity,
       string_agg(detail, ' ' ORDER BY source) AS detail,
       json_object('sources', list(source ORDER BY source),
                   'blocking', list(source ORDER BY source) FILTER (WHERE blocking),
                   'evidence', list(json(evidence) ORDER BY source)) AS evidence
FROM dq_source_issues
WHERE business_date = getvariable('business_date') AND check_id = getvariable('check_id')
HAVING count(*) > 0
