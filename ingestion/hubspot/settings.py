"""What the HubSpot source fetches: objects, their cursors, associations and HubSpot's request limits."""

PIPELINE_NAME = "hubspot"
DATASET_NAME = "raw_hubspot"

# CRM objects loaded incrementally, with the property search filters and sorts on (HubSpot's own names:
# contacts keep the older lastmodifieddate, every other object hs_lastmodifieddate).
LAST_MODIFIED_PROPERTY = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
OBJECT_ID_PROPERTY = "hs_object_id"
# The ids merged into a record, ";"-separated. A merge makes a new record (new id) of two: the old ids
# answer reads with it and no longer appear in lists or searches, so this property is the only trace.
MERGED_IDS_PROPERTY = "hs_merged_object_ids"
# Tables of merged-away ids per object type: losing id -> the record it lives on in (merged on id).
MERGES = {"contacts": "contact_merges", "companies": "company_merges", "deals": "deal_merges"}

# Association tables: name -> (from object type, to object types), read for the records loaded in a run.
ASSOCIATIONS = {
    "contact_company_associations": ("contacts", ("companies",)),
    "deal_associations": ("deals", ("contacts", "companies")),
}

# HubSpot's limits: search pages hold at most 200 results (and a query reaches at most 10,000, which
# keyset paging never comes near); list and batch-read calls take 100 at a time, v4 association batch
# reads 1,000 ids, owners 500.
SEARCH_PAGE_SIZE = 200
LIST_PAGE_SIZE = 100
BATCH_READ_SIZE = 100
ASSOCIATION_BATCH_SIZE = 1_000
OWNERS_PAGE_SIZE = 500

# Listing archived records asks for these few properties only (a GET carries them in its URL);
# the full records are then read by POST.
ARCHIVED_LIST_PROPERTIES = ("hs_object_id",)

# Search is fed by an index that trails writes by seconds; each run re-reads this much before its
# cursor so that a late-indexed change is not skipped (the overlap merges away on id).
SEARCH_LOOKBACK_SECONDS = 300

# (connect, read) seconds for one HTTP request.
REQUEST_TIMEOUT = (10, 120)
