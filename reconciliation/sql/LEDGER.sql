/* check
id = "LEDGER_NOT_HOLDER"
family = "ledger"
category = "ledger"
severity = "critical"
title = "Voucher moved by someone who does not hold it"
rule = '''
A SPLIT, TRANSFER or FINANCE of a voucher by a company that is not its current holder (a double
spend). {split_family}
'''
*/
/* check
id = "LEDGER_SPLIT_EXCEEDS"
family = "ledger"
category = "ledger"
severity = "critical"
title = "Split creates money"
rule = '''
A SPLIT moves more than what the parent voucher has left. {split_family}
'''
*/
/* check
id = "LEDGER_SPLIT_INHERITANCE"
family = "ledger"
category = "ledger"
severity = "high"
title = "Split child with another issuer or maturity"
rule = '''
The child of a SPLIT names another issuer or another maturity date than its parent. {split_family}
'''
*/
/* check
id = "LEDGER_PARTIAL_MOVE"
family = "ledger"
category = "ledger"
severity = "high"
title = "Transfer or financing of part of a voucher"
rule = '''
A TRANSFER or FINANCE whose amount is not what the voucher has left: a part must be split first.
{split_family}
'''
*/
/* check
id = "LEDGER_MOVE_AFTER_FINAL"
family = "ledger"
category = "ledger"
severity = "critical"
title = "Voucher moved after it was financed, settled or cancelled"
rule = '''
Any SPLIT, TRANSFER or FINANCE of a voucher already financed, settled or cancelled. {split_family}
'''
*/
/* check
id = "LEDGER_FINANCE_AFTER_MATURITY"
family = "ledger"
category = "ledger"
severity = "high"
title = "Financing on or after maturity"
rule = '''
A FINANCE event dated on or after the voucher's maturity date. {split_family}
'''
*/
/* check
id = "LEDGER_ISSUE_WITHOUT_PAYABLE"
family = "ledger"
category = "ledger"
severity = "critical"
title = "Voucher issued without a confirmed payable"
rule = '''
An ISSUE whose payable reference (BUKRS-GJAHR-BELNR-BUZEI) did not appear in the issuing core
enterprise's ERP vendor items within evidence_window_days of the night the ISSUE was first delivered
(until then it is pending: LEDGER_EVIDENCE_PENDING). {split_family}
'''
[params]
evidence_window_days = 7
*/
/* check
id = "LEDGER_EVIDENCE_PENDING"
family = "ledger"
category = "ledger"
severity = "medium"
title = "Voucher evidence pending"
rule = '''
An ISSUE whose payable is not in the issuing core enterprise's ERP vendor items yet (its ERP export
is late, or the core has never delivered one) is kept pending, with everything done on the voucher
and on the vouchers split from it, for evidence_window_days after the night it was first delivered:
the financings on them are in review ("Evidence pending since D: payable … of core …"). The night
the payable arrives the voucher is posted and its financings judged on the rest; once the window has
passed it is voided (LEDGER_ISSUE_WITHOUT_PAYABLE). {split_family}
'''
[params]
evidence_window_days = 7
*/
/* check
id = "LEDGER_UNKNOWN_VOUCHER"
family = "ledger"
category = "ledger"
severity = "high"
title = "Event on a voucher never issued"
rule = '''
An event acts on a voucher id the ledger has never accepted an ISSUE or SPLIT for. {split_family}
'''
*/
/* check
id = "LEDGER_DUPLICATE_VOUCHER"
family = "ledger"
category = "ledger"
severity = "critical"
title = "Voucher id created twice"
rule = '''
An ISSUE or SPLIT creates a voucher id that already exists. {split_family}
'''
*/
/* check
id = "LEDGER_EVENT_CONFLICT"
family = "ledger"
category = "ledger"
severity = "high"
title = "Event re-delivered with other content"
rule = '''
An event id already in the ledger arrives again with different content; the first version stands.
{split_family}
'''
*/
/* check
id = "LEDGER_FINANCING_MISMATCH"
family = "ledger"
category = "ledger"
severity = "high"
title = "Financing disagrees with its FINANCE event"
rule = '''
A financing and the FINANCE event naming it disagree on voucher, amount, bank or applicant.
'''
*/
/* check
id = "LEDGER_ASSET_SOLD"
family = "ledger"
category = "ledger"
severity = "critical"
title = "Financing of an asset sold with an ABS pool"
rule = '''
A new financing whose asset (product and asset reference, or a sub-bill range overlapping one) the
ledger records as sold with an ABS pool (a POOL_SELL entry dated that night or earlier): a sold
asset is never financed again.
'''
*/
/* check
id = "LEDGER_INTEGRITY"
family = "ledger"
category = "ledger"
severity = "critical"
title = "Ledger verification failed"
rule = '''
The stored ledger no longer verifies: an entry, the tree or a signed checkpoint was altered.
'''
*/
SELECT financing_id, voucher_id, NULL AS invoice_no, NULL AS bill_ref, NULL AS waybill_no, NULL AS severity,
       CASE WHEN via_voucher_id IS NOT NULL AND via_voucher_id <> coalesce(voucher_id, '')
            THEN printf('%s Financing %s rests on voucher %s, split from it.', reason, financing_id, via_voucher_id)
            ELSE reason END AS detail,
       json_merge_patch(coalesce(evidence, '{}')::JSON,
                        json_object('event_id', event_id, 'refused_on', refused_on,
                                    'implicated_via_voucher_id', via_voucher_id)) AS evidence
FROM ledger_implications
WHERE check_id = getvariable('check_id')
