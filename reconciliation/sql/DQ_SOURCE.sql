SELECT NULL AS financing_id, NULL AS voucher_id, NULL AS invoice_no, NULL AS bill_ref, NULL AS waybill_no,
       CASE WHEN bool_or(blocking) THEN 'high' ELSE 'medium' END AS severity,
       string_agg(detail, ' ' ORDER BY source) AS detail,
       json_object('sources', list(source ORDER BY source),
                   'blocking', list(source ORDER BY source) FILTER (WHERE blocking),
                   'evidence', list(json(evidence) ORDER BY source)) AS evidence
FROM dq_source_issues
WHERE business_date = getvariable('business_date') AND check_id = getvariable('check_id')
HAVING count(*) > 0
