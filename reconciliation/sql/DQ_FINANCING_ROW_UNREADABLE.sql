/* check
id = "DQ_FINANCING_ROW_UNREADABLE"
family = "first"
category = "data_quality"
severity = "medium"
title = "Financing row unreadable"
rule = '''
A financings.csv row failed parsing (it is quarantined) and no later readable row of the same
financing replaces it: the financing it names (when its id can be read) is held for review every
night, and still counts against the voucher or bill range it names for the duplicate checks. Rows
whose financing cannot be named are reported on the night they arrive, one finding per file.
'''
*/
-- Unreadable rows of a named financing stand every night until a readable row replaces them;
-- rows (and whole files) whose financing cannot be named are reported on their night, per file.
WITH unnamed AS (
  SELECT q.src_path, q.src_sha256, q.src_pos, q.reason_code, q.reason
  FROM quarantine q
  WHERE q.business_date = getvariable('business_date') AND q.file_kind = 'financings'
    AND NOT EXISTS (SELECT 1 FROM financing_rejects r
                    WHERE r.src_sha256 = q.src_sha256 AND r.src_pos = q.src_pos AND r.financing_id IS NOT NULL)
)
SELECT u.financing_id, u.asset_voucher_id AS voucher_id, u.asset_invoice_no AS invoice_no,
       CASE WHEN u.asset_cd_no IS NOT NULL THEN u.asset_ref END AS bill_ref, NULL AS waybill_no, NULL AS severity,
       printf('The row of financing %s in platform/financings.csv delivered on %s (line %d) could not be read (%s: %s); it cannot be cleared until a readable row replaces it.',
              u.financing_id, u.business_date, u.src_pos, u.reason_code, u.reason) AS detail,
       json_object('delivered_on', u.business_date, 'line', u.src_pos, 'reason_code', u.reason_code,
                   'reason', u.reason, 'bank_code', u.bank_code, 'product', u.product, 'asset_ref', u.asset_ref) AS evidence
FROM unreadable_financings u
WHERE u.financing_id IS NOT NULL
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL,
       printf('%s delivered on %s: %s could not be read, naming no readable financing id (%s); the financings it holds get no verdict until it is delivered readable.',
              src_path, getvariable('business_date'),
              CASE WHEN bool_or(src_pos IS NULL) THEN 'the whole file'
                   ELSE count(*) || ' row(s) (line ' || array_to_string(list(src_pos ORDER BY src_pos), ', ') || ')' END,
              array_to_string(list(DISTINCT reason_code ORDER BY reason_code), ', ')),
       json_object('delivered_on', getvariable('business_date'), 'file', src_path,
                   'lines', list(src_pos ORDER BY src_pos), 'reasons', list(reason ORDER BY src_pos))
FROM unnamed
GROUP BY src_path
