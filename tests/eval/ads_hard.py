"""The hard part of the evaluation set: ambiguity traps and out-of-catalog occupations.

Traps: a short or ordinary word (SQL, EMR, Go, R, C, Swift, Spark, Rust, Excel, ML, PM,
AI, BI, CRM, QA...) that means a skill in one family and something else in this ad, or a
skill of another family. ``traps`` lists the readings that would be wrong here.
Out-of-catalog: occupations FluentPro has no role for; ``family`` is None.
"""

from __future__ import annotations

from tests.eval.model import JobAd, ad

TRAP_ADS: tuple[JobAd, ...] = (
    ad(
        "trap-senior-data-engineer-emr",
        "data",
        "spark aws sql python etl data_warehousing airflow",
        """Senior Data Engineer. You will design and run large-scale batch pipelines with
        Apache Spark on AWS EMR and Glue, model our data warehouse in Redshift, and
        orchestrate jobs with Airflow. We expect advanced SQL and Python, 6+ years of
        experience building ETL at scale, and the ability to mentor others.""",
        traps="ehr lead_generation",
    ),
    ad(
        "trap-glue-pyspark",
        "data",
        "aws spark data_warehousing sql etl",
        """Data engineer (contract, 6 months). AWS EMR and Glue with PySpark; Redshift;
        SQL. You will migrate legacy ETL jobs to the new lake house and document them.""",
        traps="ehr lead_generation",
    ),
    ad(
        "trap-sdr-sqls",
        "sales",
        "lead_generation prospecting hubspot b2b_sales",
        """Sales Development Representative - SaaS. Turn marketing-qualified leads into
        sales-qualified leads: you will qualify MQLs, book SQLs for our account
        executives, and run outbound sequences in HubSpot. Monthly target: 25 SQLs.
        B2B sales experience helps; energy and curiosity matter more.""",
        traps="sql",
    ),
    ad(
        "trap-clinic-emr",
        "healthcare_admin",
        "ehr patient_scheduling medical_terminology hipaa insurance_claims",
        """Medical Administrative Assistant. Keep the clinic running smoothly: schedule
        appointments, update patient charts in the EMR, verify insurance and prior
        authorisations, and use correct medical terminology in letters. HIPAA-compliant
        handling of records.""",
    ),
    ad(
        "trap-go-to-market",
        "marketing",
        "go_to_market product_marketing competitive_analysis market_research",
        """Product Marketing Manager. You will own go-to-market for two new modules: go
        deep on the buyer, run market research, build competitive analysis and make sure
        sales teams are ready to go on launch day.""",
        traps="go",
    ),
    ad(
        "trap-go-developer",
        "software",
        "go microservices kubernetes postgresql docker",
        """Go Developer. Build high-throughput microservices in Go (goroutines, channels,
        profiling with pprof) for our logistics platform. PostgreSQL, Docker and
        Kubernetes. If you have written backend services in Go for two years or more,
        let's talk.""",
    ),
    ad(
        "trap-r-statistician",
        "data",
        "r statistics data_analysis data_visualization",
        """Statistical Analyst, public health research. Analyse survey data with R
        (tidyverse, ggplot2), fit regression models and write up results for reports.
        Strong statistics and careful data analysis.""",
    ),
    ad(
        "trap-c-grade-warehouse",
        "operations",
        "logistics inventory_management",
        """Logistics Coordinator. Schedule inbound and outbound freight, keep inventory
        records right and sort stock into A, B and C categories for cycle counts. Plan C
        shift cover when needed. Forklift licence an advantage.""",
        traps="c",
    ),
    ad(
        "trap-swift-payments",
        "finance",
        "accounts_payable reconciliation erp",
        """Treasury and Payments Specialist. Release supplier payments via SWIFT and SEPA,
        reconcile bank statements daily, and support the accounts payable team with
        payment runs in our ERP.""",
        traps="swift",
    ),
    ad(
        "trap-spark-teacher",
        "education",
        "teaching lesson_planning classroom_management",
        """Primary School Teacher (Year 4). Plan lessons that spark curiosity, teach the
        full primary curriculum and keep a warm, well-managed classroom. You will work
        with a teaching assistant and parents.""",
        traps="spark",
    ),
    ad(
        "trap-excel-customer",
        "customer_success",
        "customer_support zendesk communication",
        """Customer Support Team Member. You will excel at calming frustrated customers and
        solving their problems on the first contact. Handle tickets in Zendesk by email and
        chat; clear written communication.""",
        traps="excel",
    ),
    ad(
        "trap-rust-facilities",
        "operations",
        "operations_management vendor_management",
        """Facilities and Operations Manager. Run day-to-day operations of our plant
        buildings: manage maintenance vendors, plan repairs of rust damage on steel
        structures and corrosion prevention, and keep the budget on track.""",
        traps="rust",
    ),
    ad(
        "trap-pm-shift",
        "healthcare_admin",
        "patient_scheduling customer_support",
        """Patient Services Representative (evening shift, 3 PM - 11 PM). Check in
        patients, schedule appointments and answer the phones for a busy urgent care
        clinic; friendly customer service.""",
        traps="product_management",
    ),
    ad(
        "trap-crm-sales",
        "sales",
        "crm account_management negotiation",
        """Account Manager. Grow a portfolio of existing retail clients through renewals and
        upselling; keep our CRM accurate and negotiate annual contracts.""",
    ),
    ad(
        "trap-qa-manual",
        "software",
        "software_testing test_automation jira",
        """QA Engineer. Write test cases, run regression testing before each release and
        report defects in Jira. You will help us start automated testing.""",
    ),
    ad(
        "trap-ai-bi-marketing",
        "data",
        "business_intelligence data_visualization sql marketing_analytics",
        """BI Analyst, Marketing. Build BI dashboards on campaign performance and marketing
        attribution, write SQL, and explain what the numbers mean. Our team is exploring AI
        tools for forecasting; curiosity is welcome, no ML background required.""",
        traps="artificial_intelligence machine_learning",
    ),
    ad(
        "trap-lean-kitchen",
        "operations",
        "process_improvement lean six_sigma",
        """Process Improvement Specialist in food manufacturing. Lead kaizen events and
        DMAIC projects, map value streams, cut waste on the production lines. Lean Six
        Sigma Green Belt.""",
    ),
)

OUT_OF_CATALOG_ADS: tuple[JobAd, ...] = (
    ad(
        "ooc-registered-nurse",
        None,
        "ehr communication",
        """Registered Nurse - Medical/Surgical Unit. Provide direct patient care to adults
        on a 30-bed unit: assess patients, administer medications and IV therapy, monitor
        vital signs, document care in the EMR and educate patients and families. Active RN
        licence and BLS certification required; 12-hour shifts. Strong communication with
        the care team.""",
        traps="observability",
    ),
    ad(
        "ooc-electrician",
        None,
        "",
        """Qualified Electrician. Install, test and repair wiring, lighting and
        distribution boards on commercial sites. Read drawings, fault-find safely and
        complete certificates. 18th Edition and a full driving licence required; van
        provided.""",
    ),
    ad(
        "ooc-chef",
        None,
        "inventory_management",
        """Sous Chef - busy bistro. Run the pass during service, prep and cook to spec,
        train junior cooks, order stock and keep food safety records. Passion for
        seasonal produce; 2 years as a chef de partie.""",
    ),
    ad(
        "ooc-truck-driver",
        None,
        "",
        """HGV Class 1 Driver. Deliver chilled goods to supermarkets across the region,
        carry out vehicle checks, load and unload safely. Valid C+E licence, CPC card and
        digital tachograph card.""",
        traps="medical_coding",
    ),
    ad(
        "ooc-plumber",
        None,
        "",
        """Plumber and Heating Engineer. Install and service boilers, radiators and
        bathrooms for domestic customers. Gas Safe registered, tidy and punctual, with
        your own tools.""",
    ),
    ad(
        "ooc-pharmacist",
        None,
        "",
        """Community Pharmacist. Dispense prescriptions accurately, counsel patients on
        their medicines, run flu vaccination clinics and supervise dispensing assistants.
        GPhC registration required.""",
    ),
    ad(
        "ooc-dental-hygienist",
        None,
        "",
        """Dental Hygienist. Provide scaling, polishing and periodontal treatment, take
        radiographs and give oral hygiene advice in a friendly private practice. GDC
        registered.""",
    ),
    ad(
        "ooc-civil-engineer",
        None,
        "",
        """Civil Engineer - bridges. Design and check reinforced concrete and steel bridge
        structures to Eurocodes, produce calculations and drawings with AutoCAD and
        supervise construction on site. Chartered or working towards it.""",
    ),
    ad(
        "ooc-lawyer",
        None,
        "negotiation contract_management",
        """Commercial Lawyer. Advise on commercial contracts, draft and negotiate supply
        and licensing agreements, and support litigation. Qualified solicitor with 3+ years
        PQE.""",
    ),
    ad(
        "ooc-vet-nurse",
        None,
        "",
        """Veterinary Nurse. Assist vets in surgery, monitor anaesthesia, care for
        in-patients and run nurse clinics for vaccinations. Registered veterinary nurse.""",
        traps="observability",
    ),
    ad(
        "ooc-carpenter",
        None,
        "",
        """Carpenter / Joiner. First and second fix on new-build homes: roofs, stairs,
        doors and kitchens. Own tools and CSCS card.""",
    ),
    ad(
        "ooc-flight-attendant",
        None,
        "customer_support",
        """Cabin Crew. Look after passengers' safety and comfort on short-haul flights,
        deliver excellent customer service, and handle emergencies calmly. Must be able to
        swim 25 m and hold a passport allowing travel.""",
    ),
    ad(
        "ooc-physiotherapist",
        None,
        "",
        """Physiotherapist - musculoskeletal outpatients. Assess and treat patients with
        back, neck and sports injuries, plan rehabilitation programmes and keep clinical
        notes. HCPC registered.""",
        traps="cpt_coding",
    ),
)
