//! JSON-LD → RDF → RDFC-1.0 canonical N-Quads, for the `eddsa-rdfc-2022`
//! Data Integrity cryptosuite.
//!
//! * JSON-LD 1.1 expansion + toRdf: [`json_ld`] (timothee-haudebourg) 0.21.
//! * RDF Dataset Canonicalization (RDFC-1.0, SHA-256): [`rdf_canon`] (yamdan),
//!   on top of [`oxrdf`] 0.2 terms.
//!
//! The output is meant to be byte-identical to
//! `jsonld.canonize(doc, {algorithm: 'RDFC-1.0', format: 'application/n-quads',
//! safe: true, documentLoader})` of jsonld.js 9 (rdf-canonize 5), which is what
//! most verifiers run. Behaviour that jsonld.js's safe mode rejects is
//! rejected here too (see [`Error`]), so we never sign something a verifier
//! cannot reproduce.
//!
//! Everything is synchronous and CPU-bound. The underlying `json-ld` API is
//! `async`, but with the in-memory loader used here every future is ready on
//! its first poll, so it is driven with a no-op waker: no runtime is needed,
//! and calling [`canonize`] from inside a tokio runtime is fine (for large or
//! untrusted inputs prefer `tokio::task::spawn_blocking`).

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};

use json_ld::expansion::{Action, Policy};
use json_ld::rdf_types::{generator, LiteralType, Term};
use json_ld::{
    Id, IndexedObject, Iri, IriBuf, JsonLdProcessor, LoadError, Loader, Node, Object, Options,
    RemoteDocument, ValidId,
};
use oxrdf::{BlankNode, Dataset, GraphName, Literal, NamedNode, Quad, Subject};
use rdf_canon::CanonicalizationOptions;
use sha2::{Digest, Sha256};

const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";
const XSD_DOUBLE: &str = "http://www.w3.org/2001/XMLSchema#double";

/// Why a document could not be canonicalized.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `@context` (or `@import`) URL that is not in the allowed map. No
    /// network access is ever attempted.
    #[error("context not allowed (not in the local context map): {0}")]
    ContextNotAllowed(String),
    /// The input exceeds one of the [`Limits`].
    #[error("input too large: {0}")]
    TooLarge(String),
    /// JSON-LD expansion / context processing failed (includes the
    /// jsonld.js-safe-mode equivalents: undefined terms, relative IRIs, ...).
    #[error("JSON-LD expansion failed: {0}")]
    JsonLd(String),
    /// Something that jsonld.js safe mode refuses (data that would otherwise
    /// be silently dropped or changed).
    #[error("unsafe JSON-LD (would be dropped or altered): {0}")]
    Unsafe(String),
    /// A term could not be represented as an RDF term.
    #[error("invalid RDF term: {0}")]
    InvalidTerm(String),
    /// RDFC-1.0 failed, e.g. the Hash N-Degree Quads work limit was hit
    /// (a "poison graph" or too many indistinguishable blank nodes).
    #[error("RDF canonicalization failed: {0}")]
    Canonicalization(#[from] rdf_canon::CanonicalizationError),
    /// Internal: the JSON-LD future was not ready (cannot happen with the
    /// in-memory loader).
    #[error("internal error: JSON-LD processing did not complete synchronously")]
    NotReady,
}

/// Bounds against hostile input. All are checked before or during processing;
/// exceeding one yields an error, never a partial result.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Max nesting depth of the input JSON (arrays + objects).
    pub max_depth: usize,
    /// Max number of JSON values (every scalar, array and object counts 1).
    pub max_json_values: usize,
    /// Max number of remote-context loads (from the local map) per document.
    pub max_context_loads: usize,
    /// Max number of RDF quads produced by toRdf.
    pub max_quads: usize,
    /// Max blank nodes in the dataset.
    pub max_blank_nodes: usize,
    /// Work factor for Hash N-Degree Quads, same semantics as rdf-canonize's
    /// `maxWorkFactor`: at most `n^factor` HNDQ calls where `n` is the number
    /// of blank nodes whose first-degree hash is not unique. jsonld.js's
    /// default is 1 — keep 1 so everything we sign can be verified by a
    /// default-configured jsonld.js verifier.
    pub max_work_factor: u32,
    /// Absolute cap on Hash N-Degree Quads calls (rdf-canon `hndq_call_limit`).
    pub max_hndq_calls: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_json_values: 100_000,
            max_context_loads: 64,
            max_quads: 20_000,
            max_blank_nodes: 5_000,
            max_work_factor: 1,
            max_hndq_calls: 4_000,
        }
    }
}

/// Canonicalize a JSON-LD document to RDFC-1.0 canonical N-Quads (SHA-256),
/// with the default [`Limits`]. `contexts` maps context URLs to their JSON
/// documents (the whole document, i.e. `{"@context": ...}`); any other
/// context URL is an error. Synchronous.
pub fn canonize(
    doc: &serde_json::Value,
    contexts: &HashMap<String, serde_json::Value>,
) -> Result<String, Error> {
    canonize_with(doc, contexts, &Limits::default())
}

/// [`canonize`] with explicit limits.
pub fn canonize_with(
    doc: &serde_json::Value,
    contexts: &HashMap<String, serde_json::Value>,
    limits: &Limits,
) -> Result<String, Error> {
    let dataset = to_dataset(doc, contexts, limits)?;
    canonicalize_dataset(&dataset, limits)
}

/// JSON-LD toRdf of `doc` (safe mode), as an oxrdf dataset (set semantics).
pub fn to_dataset(
    doc: &serde_json::Value,
    contexts: &HashMap<String, serde_json::Value>,
    limits: &Limits,
) -> Result<Dataset, Error> {
    check_json_shape(doc, limits)?;
    // Top-level free-floating values/lists/empty/@id-only objects are dropped
    // by JSON-LD expansion; jsonld.js safe mode rejects them. The simplest
    // equivalent: the top level must be a node object and must not use
    // "@graph" (see `check_top_level`).
    check_top_level(doc)?;

    let input = RemoteDocument::new(None, None, json_syntax::Value::from_serde_json(doc.clone()));
    let loader = MapLoader {
        contexts,
        loads: Cell::new(0),
        max_loads: limits.max_context_loads,
        refused: Cell::new(None),
    };

    let options = safe_options();
    let mut warnings = Warnings::default();
    let result = block_on_ready(input.to_rdf_full(
        (),
        generator::Blank::new_with_prefix("b".to_owned()),
        &loader,
        options,
        &mut warnings,
    ))?;
    let mut rdf = match result {
        Ok(rdf) => rdf,
        Err(e) => {
            if let Some(refusal) = loader.refused.take() {
                return Err(refusal);
            }
            return Err(Error::JsonLd(e.to_string()));
        }
    };
    if let Some(w) = warnings.0.first() {
        return Err(Error::Unsafe(w.clone()));
    }
    // Anything that toRdf would silently skip is an error (safe mode); also
    // record, per (graph, subject, predicate), the values jsonld.js's node map
    // would keep apart.
    let mut walk = Walk::default();
    for object in rdf.document().iter() {
        walk.object(object, None, None, 0)?;
    }

    let mut dataset = Dataset::new();
    let mut rdf_counts: HashMap<Key, usize> = HashMap::new();
    for json_ld::rdf_types::Quad(s, p, o, g) in rdf.quads() {
        if dataset.len() >= limits.max_quads {
            return Err(Error::TooLarge(format!(
                "more than {} quads",
                limits.max_quads
            )));
        }
        let key: Key = (g.map(id_str), id_str(&s), id_str(&p));
        let subject = match s.as_ref() {
            ValidId::Iri(i) => Subject::NamedNode(named(i)?),
            ValidId::Blank(b) => Subject::BlankNode(blank(b)?),
        };
        let predicate = match p.as_ref() {
            ValidId::Iri(i) => named(i)?,
            ValidId::Blank(b) => return Err(Error::Unsafe(format!("blank node predicate {b}"))),
        };
        let object = match o {
            Term::Id(ValidId::Iri(i)) => oxrdf::Term::NamedNode(named(&i)?),
            Term::Id(ValidId::Blank(b)) => oxrdf::Term::BlankNode(blank(&b)?),
            Term::Literal(l) => oxrdf::Term::Literal(match l.type_ {
                LiteralType::Any(ty) if ty.as_str() == XSD_STRING => {
                    Literal::new_simple_literal(l.value)
                }
                LiteralType::Any(ty) => Literal::new_typed_literal(l.value, named(&ty)?),
                LiteralType::LangString(tag) => {
                    Literal::new_language_tagged_literal(l.value, tag.as_str())
                        .map_err(|e| Error::InvalidTerm(format!("language tag {tag}: {e}")))?
                }
            }),
        };
        let graph = match g {
            None => GraphName::DefaultGraph,
            Some(ValidId::Iri(i)) => GraphName::NamedNode(named(i)?),
            Some(ValidId::Blank(b)) => GraphName::BlankNode(blank(b)?),
        };
        if dataset.insert(&Quad::new(subject, predicate, object, graph)) {
            *rdf_counts.entry(key).or_default() += 1;
        }
    }
    check_counts(&walk, &rdf_counts)?;
    Ok(dataset)
}

/// Expansion options of jsonld.js's safe mode: terms that do not expand to absolute IRIs are rejected
/// instead of silently dropped or kept ('invalid property', 'relative @type reference', ...).
fn safe_options() -> Options {
    Options {
        expansion_policy: Policy {
            invalid: Action::Reject,
            vocab: Action::Keep,
            allow_undefined: false,
        },
        rdf_direction: None,
        produce_generalized_rdf: false,
        ..Options::default()
    }
}

/// jsonld.js does not de-duplicate RDF quads: two JSON-LD values that it keeps apart (e.g. "x" and
/// {"@value":"x","@type":"xsd:string"}) become two identical N-Quads lines there but one quad here.
/// Likewise a value that produced no quad was silently dropped. Either way the outputs would differ, so
/// refuse.
fn check_counts(walk: &Walk, rdf_counts: &HashMap<Key, usize>) -> Result<(), Error> {
    for (key, idents) in &walk.idents {
        let n = rdf_counts.get(key).copied().unwrap_or(0);
        if n != idents.len() {
            return Err(Error::Unsafe(format!(
                "{} JSON-LD value(s) of <{}> on {} give {} distinct RDF quad(s) \
                 (duplicates or dropped values; jsonld.js output would differ)",
                idents.len(),
                key.2,
                key.1,
                n
            )));
        }
    }
    Ok(())
}

/// RDFC-1.0 (SHA-256) of a dataset, serialized as canonical N-Quads.
pub fn canonicalize_dataset(dataset: &Dataset, limits: &Limits) -> Result<String, Error> {
    let hndq_limit = hndq_call_limit(dataset, limits)?;
    let options = CanonicalizationOptions {
        hndq_call_limit: Some(hndq_limit),
    };
    let nquads = rdf_canon::canonicalize_with::<Sha256>(dataset, &options)?;
    check_utf16_order(&nquads.split_inclusive('\n').collect::<Vec<_>>())?;
    Ok(nquads)
}

/// rdf-canonize (jsonld.js) bounds Hash N-Degree Quads calls by
/// `nonUnique^maxWorkFactor`, where `nonUnique` counts blank nodes whose
/// first-degree hash (RDFC-1.0 §4.6) is shared. rdf-canon counts the same
/// thing (every HNDQ call, recursive ones included) but only takes an
/// absolute number, so compute `nonUnique` here.
fn hndq_call_limit(dataset: &Dataset, limits: &Limits) -> Result<usize, Error> {
    let mut quads_of: HashMap<&str, Vec<oxrdf::QuadRef<'_>>> = HashMap::new();
    for q in dataset.iter() {
        let mut ids: Vec<&str> = Vec::with_capacity(3);
        if let oxrdf::SubjectRef::BlankNode(b) = q.subject {
            ids.push(b.as_str());
        }
        if let oxrdf::TermRef::BlankNode(b) = q.object {
            ids.push(b.as_str());
        }
        if let oxrdf::GraphNameRef::BlankNode(b) = q.graph_name {
            ids.push(b.as_str());
        }
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != n {
            // rdf-canon 0.15.3 adds such a quad twice to the blank node's quad
            // list (canon.rs `update_blank_node_to_quads_map`), which changes
            // the first-degree hash and hence the labels (jsonld.js and the
            // spec count it once). Refuse instead of producing wrong labels.
            return Err(Error::Unsafe(format!(
                "quad uses the same blank node in two positions (self-reference): {q}"
            )));
        }
        for id in ids {
            quads_of.entry(id).or_default().push(q);
        }
    }
    if quads_of.len() > limits.max_blank_nodes {
        return Err(Error::TooLarge(format!(
            "more than {} blank nodes",
            limits.max_blank_nodes
        )));
    }
    let (a, z) = (BlankNode::new_unchecked("a"), BlankNode::new_unchecked("z"));
    let mut hash_count: HashMap<[u8; 32], usize> = HashMap::new();
    for (id, quads) in &quads_of {
        let mut lines: Vec<String> = quads
            .iter()
            .map(|q| {
                let map = |b: oxrdf::BlankNodeRef<'_>| {
                    if b.as_str() == *id {
                        a.as_ref()
                    } else {
                        z.as_ref()
                    }
                };
                let s = match q.subject {
                    oxrdf::SubjectRef::BlankNode(b) => oxrdf::SubjectRef::BlankNode(map(b)),
                    other => other,
                };
                let o = match q.object {
                    oxrdf::TermRef::BlankNode(b) => oxrdf::TermRef::BlankNode(map(b)),
                    other => other,
                };
                let g = match q.graph_name {
                    oxrdf::GraphNameRef::BlankNode(b) => oxrdf::GraphNameRef::BlankNode(map(b)),
                    other => other,
                };
                format!("{} .\n", oxrdf::QuadRef::new(s, q.predicate, o, g))
            })
            .collect();
        lines.sort_unstable();
        check_utf16_order(&lines)?;
        let mut h = Sha256::new();
        for l in &lines {
            h.update(l.as_bytes());
        }
        *hash_count.entry(h.finalize().into()).or_default() += 1;
    }
    let non_unique: usize = hash_count.values().filter(|&&n| n > 1).sum();
    let work = (non_unique as u128).saturating_pow(limits.max_work_factor);
    Ok(work.min(limits.max_hndq_calls as u128) as usize)
}

// ---------------------------------------------------------------------------

/// Loader serving only the given map; refuses (never fetches) anything else.
struct MapLoader<'a> {
    contexts: &'a HashMap<String, serde_json::Value>,
    loads: Cell<usize>,
    max_loads: usize,
    refused: Cell<Option<Error>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

impl Loader for MapLoader<'_> {
    async fn load(&self, url: &Iri) -> Result<RemoteDocument<IriBuf>, LoadError> {
        let n = self.loads.get() + 1;
        self.loads.set(n);
        if n > self.max_loads {
            self.refused.set(Some(Error::TooLarge(format!(
                "more than {} context loads",
                self.max_loads
            ))));
            return Err(LoadError::new(
                url.to_owned(),
                Refused(format!("more than {} context loads", self.max_loads)),
            ));
        }
        match self.contexts.get(url.as_str()) {
            Some(doc) => Ok(RemoteDocument::new(
                Some(url.to_owned()),
                Some("application/ld+json".parse().expect("valid mime")),
                json_syntax::Value::from_serde_json(doc.clone()),
            )),
            None => {
                self.refused
                    .set(Some(Error::ContextNotAllowed(url.as_str().to_owned())));
                Err(LoadError::new(
                    url.to_owned(),
                    Refused("context not in local map".into()),
                ))
            }
        }
    }
}

/// Collects the warnings that jsonld.js safe mode treats as errors.
///
/// `MalformedIri` is *not* collected: json-ld emits it for every tentative IRI
/// expansion that falls through (also while processing the trusted contexts,
/// e.g. for `credentialStatus`), not only for data that ends up dropped. IRI
/// problems in the data are instead detected exactly by walking the expanded
/// document for `Id::Invalid` (see `check_node`).
#[derive(Default)]
struct Warnings(Vec<String>);

impl<N> json_ld::warning::Handler<N, json_ld::context_processing::Warning> for Warnings {
    fn handle(&mut self, _: &N, warning: json_ld::context_processing::Warning) {
        use json_ld::context_processing::Warning as W;
        match warning {
            W::MalformedIri(_) => {}
            // jsonld.js: 'reserved term' / 'reserved @id value'
            W::KeywordLikeTerm(_) | W::KeywordLikeValue(_) => self.0.push(warning.to_string()),
        }
    }
}

impl<N, B: fmt::Display> json_ld::warning::Handler<N, json_ld::expansion::Warning<B>> for Warnings {
    fn handle(&mut self, _: &N, warning: json_ld::expansion::Warning<B>) {
        use json_ld::expansion::Warning as W;
        match warning {
            W::MalformedIri(_) => {}
            // jsonld.js: 'invalid @language value', 'invalid property', 'blank node predicate'
            W::MalformedLanguageTag(..) | W::EmptyTerm | W::BlankNodeIdProperty(_) => {
                self.0.push(warning.to_string())
            }
        }
    }
}

/// Drive a future that must complete without ever waiting (our loader is
/// in-memory). Works inside or outside any async runtime.
fn block_on_ready<F: Future>(fut: F) -> Result<F::Output, Error> {
    let mut fut = pin!(fut);
    let mut cx = TaskContext::from_waker(Waker::noop());
    // A few polls for good measure; a genuinely pending future means a bug.
    for _ in 0..16 {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return Ok(v);
        }
    }
    Err(Error::NotReady)
}

fn check_json_shape(doc: &serde_json::Value, limits: &Limits) -> Result<(), Error> {
    let mut count = 0usize;
    let mut stack = vec![(doc, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        count += 1;
        if count > limits.max_json_values {
            return Err(Error::TooLarge(format!(
                "more than {} JSON values",
                limits.max_json_values
            )));
        }
        if depth > limits.max_depth {
            return Err(Error::TooLarge(format!(
                "JSON nesting deeper than {}",
                limits.max_depth
            )));
        }
        match v {
            serde_json::Value::Array(a) => stack.extend(a.iter().map(|c| (c, depth + 1))),
            serde_json::Value::Object(o) => stack.extend(o.values().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

fn check_top_level(doc: &serde_json::Value) -> Result<(), Error> {
    let obj = doc
        .as_object()
        .ok_or_else(|| Error::Unsafe("top-level value must be a JSON object".into()))?;
    if obj.contains_key("@graph") {
        // jsonld.js safe mode rejects dropped free-floating nodes/values inside
        // a top-level @graph; we simply do not accept top-level @graph.
        return Err(Error::Unsafe("top-level @graph is not supported".into()));
    }
    let has_content = obj
        .keys()
        .any(|k| k != "@context" && k != "@id" && k != "id");
    if !has_content {
        return Err(Error::Unsafe(
            "top-level object with no properties would be dropped".into(),
        ));
    }
    Ok(())
}

const MAX_WALK_DEPTH: usize = 256;
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";

/// (graph name, subject, predicate), as plain strings (`_:x` for blank nodes).
type Key = (Option<String>, String, String);

/// Identity of a value in jsonld.js's node map (`util.compareValues`).
#[derive(PartialEq, Eq, Hash)]
enum Ident {
    /// `@type` entry.
    Type(String),
    /// Node object or node reference: merged by `@id`.
    Node(String),
    /// Value object: equal iff `@value`, `@type`, `@language`, `@index` are.
    Value(Option<String>, json_ld::Value<IriBuf>),
    /// Never merged (lists; `@json` values, compared by JS reference).
    Unique(usize),
}

#[derive(Default)]
struct Walk {
    idents: HashMap<Key, std::collections::HashSet<Ident>>,
    unique: usize,
}

type BId = json_ld::BlankIdBuf;

fn id_str(id: &ValidId<IriBuf, BId>) -> String {
    match id {
        ValidId::Iri(i) => i.as_str().to_owned(),
        ValidId::Blank(b) => b.as_str().to_owned(),
    }
}

fn valid_id<'a>(id: &'a Id<IriBuf, BId>, what: &str) -> Result<&'a ValidId<IriBuf, BId>, Error> {
    match id {
        Id::Valid(v) => Ok(v),
        Id::Invalid(s) => Err(Error::Unsafe(format!(
            "relative or invalid {what} reference `{s}`"
        ))),
    }
}

impl Walk {
    fn add(&mut self, graph: &Option<String>, subject: &str, predicate: &str, ident: Ident) {
        self.idents
            .entry((graph.clone(), subject.to_owned(), predicate.to_owned()))
            .or_default()
            .insert(ident);
    }

    fn unique(&mut self) -> Ident {
        self.unique += 1;
        Ident::Unique(self.unique)
    }

    /// `parent`: the (subject, predicate) this object is a value of, if any.
    fn object(
        &mut self,
        o: &IndexedObject<IriBuf, BId>,
        graph: Option<&String>,
        parent: Option<(&str, &str)>,
        depth: usize,
    ) -> Result<(), Error> {
        if depth > MAX_WALK_DEPTH {
            return Err(Error::TooLarge("expanded document too deep".into()));
        }
        let graph = graph.cloned();
        match &**o {
            Object::Value(v) => {
                match v {
                    json_ld::Value::LangString(ls) => {
                        if ls.direction().is_some() {
                            return Err(Error::Unsafe(
                                "@direction requires rdfDirection (not set)".into(),
                            ));
                        }
                        if let Some(lang) = ls.language() {
                            if !lang.is_well_formed() {
                                return Err(Error::Unsafe(format!(
                                    "invalid @language value `{lang}`"
                                )));
                            }
                        }
                    }
                    json_ld::Value::Json(j) => {
                        if !json_keys_portable(j) {
                            return Err(Error::Unsafe(
                                "@json object keys whose code-point order differs from UTF-16 order \
                                 (JCS, used by jsonld.js, sorts by UTF-16)"
                                    .into(),
                            ));
                        }
                    }
                    json_ld::Value::Literal(json_ld::object::Literal::Number(n), _) => {
                        if !number_is_portable(n.as_str()) {
                            return Err(Error::Unsafe(format!(
                                "JSON number {n} is rendered differently by jsonld.js; use a string or a typed value"
                            )));
                        }
                    }
                    json_ld::Value::Literal(json_ld::object::Literal::String(_), Some(ty))
                        if ty.as_str() == XSD_DOUBLE =>
                    {
                        // jsonld.js re-formats *strings* typed xsd:double
                        // (parseFloat + toExponential); json-ld keeps them.
                        return Err(Error::Unsafe(
                            "string value typed xsd:double (jsonld.js rewrites its lexical form)"
                                .into(),
                        ));
                    }
                    json_ld::Value::Literal(..) => {}
                }
                if let Some((s, p)) = parent {
                    let ident = match v {
                        json_ld::Value::Json(_) => self.unique(),
                        _ => Ident::Value(o.index().map(str::to_owned), v.clone()),
                    };
                    self.add(&graph, s, p, ident);
                }
                Ok(())
            }
            Object::List(l) => {
                if let Some((s, p)) = parent {
                    let ident = self.unique();
                    self.add(&graph, s, p, ident);
                }
                l.iter()
                    .try_for_each(|i| self.object(i, graph.as_ref(), None, depth + 1))
            }
            Object::Node(n) => self.node(n, graph.as_ref(), parent, depth),
        }
    }

    fn node(
        &mut self,
        n: &Node<IriBuf, BId>,
        graph: Option<&String>,
        parent: Option<(&str, &str)>,
        depth: usize,
    ) -> Result<(), Error> {
        if depth > MAX_WALK_DEPTH {
            return Err(Error::TooLarge("expanded document too deep".into()));
        }
        let graph = graph.cloned();
        // ToRdf has labelled every node (`relabel_and_canonicalize_with`).
        let id = match &n.id {
            Some(id) => id_str(valid_id(id, "@id")?),
            None => {
                return Err(Error::Unsafe(
                    "node without identifier after labelling".into(),
                ))
            }
        };
        if let Some((s, p)) = parent {
            self.add(&graph, s, p, Ident::Node(id.clone()));
        }
        for t in n.types() {
            let t = id_str(valid_id(t, "@type")?);
            self.add(&graph, &id, RDF_TYPE, Ident::Type(t));
        }
        for (p, values) in n.properties().iter() {
            let p = id_str(valid_id(p, "property")?);
            for v in values {
                self.object(v, graph.as_ref(), Some((&id, &p)), depth + 1)?;
            }
        }
        if let Some(rev) = n.reverse_properties() {
            for (p, nodes) in rev.iter() {
                let p = id_str(valid_id(p, "reverse property")?);
                for rn in nodes {
                    let rid = match &rn.id {
                        Some(rid) => id_str(valid_id(rid, "@id")?),
                        None => {
                            return Err(Error::Unsafe(
                                "node without identifier after labelling".into(),
                            ))
                        }
                    };
                    self.add(&graph, &rid, &p, Ident::Node(id.clone()));
                    self.node(rn, graph.as_ref(), None, depth + 1)?;
                }
            }
        }
        if let Some(g) = n.graph() {
            for v in g.iter() {
                self.object(v, Some(&id), None, depth + 1)?;
            }
        }
        if let Some(inc) = n.included() {
            for i in inc.iter() {
                self.node(i, graph.as_ref(), None, depth + 1)?;
            }
        }
        Ok(())
    }
}

/// jsonld.js sorts N-Quads lines (the output, and the quads inside each
/// first-degree hash) with JavaScript's default sort, i.e. by UTF-16 code
/// units; RDFC-1.0 and rdf-canon sort by code point. The orders differ only
/// when the first differing characters are one in U+E000..=U+FFFF and one
/// above U+FFFF. Refuse exactly those cases (`sorted` is code-point sorted).
fn check_utf16_order<S: AsRef<str>>(sorted: &[S]) -> Result<(), Error> {
    let ok = sorted.windows(2).all(|w| {
        w[0].as_ref()
            .encode_utf16()
            .cmp(w[1].as_ref().encode_utf16())
            .is_le()
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Unsafe(
            "N-Quads lines whose code-point order (RDFC-1.0) differs from their UTF-16 order \
             (jsonld.js): characters U+E000..U+FFFF vs above U+FFFF"
                .into(),
        ))
    }
}

/// json-ld serializes `@json` literals with keys in code-point order; JCS
/// (RFC 8785, used by jsonld.js) sorts by UTF-16 code units.
fn json_keys_portable(v: &json_syntax::Value) -> bool {
    match v {
        json_syntax::Value::Array(a) => a.iter().all(json_keys_portable),
        json_syntax::Value::Object(o) => {
            let mut keys: Vec<&str> = o.iter().map(|e| e.key.as_str()).collect();
            keys.sort_unstable();
            check_utf16_order(&keys).is_ok() && o.iter().all(|e| json_keys_portable(&e.value))
        }
        _ => true,
    }
}

/// JSON numbers for which jsonld.js and json-ld produce the same RDF literal:
/// integers within ±(2^53-1), and other finite doubles (except one-digit
/// values below 1e-6 such as 1e-7, which jsonld.js turns into "0"^^xsd:integer)
/// that need at most 16 significant digits (jsonld.js uses `toExponential(15)`, json-ld the shortest form);
/// integral doubles in [2^53, 1e21) are xsd:integer in jsonld.js but
/// xsd:double in json-ld.
/// `n` is the number as json-ld canonicalized it (JavaScript `String(v)` form).
fn number_is_portable(n: &str) -> bool {
    const MAX_SAFE: f64 = ((1u64 << 53) - 1) as f64;
    let Ok(f) = n.parse::<f64>() else {
        return false;
    };
    if !f.is_finite() {
        return false;
    }
    let a = f.abs();
    let sig_digits = {
        let e = format!("{a:e}");
        e.split('e')
            .next()
            .unwrap_or("")
            .bytes()
            .filter(u8::is_ascii_digit)
            .count()
    };
    if f.fract() == 0.0 {
        a <= MAX_SAFE || (a >= 1e21 && sig_digits <= 16)
    } else {
        // jsonld.js: xsd:double iff `String(v)` contains '.', which for a
        // non-integer fails only for one-digit exponent forms like "1e-7".
        (a >= 1e-6 || sig_digits >= 2) && sig_digits <= 16
    }
}

fn named(i: &IriBuf) -> Result<NamedNode, Error> {
    NamedNode::new(i.as_str()).map_err(|e| Error::InvalidTerm(format!("IRI <{i}>: {e}")))
}

fn blank(b: &json_ld::BlankIdBuf) -> Result<BlankNode, Error> {
    BlankNode::new(b.suffix()).map_err(|e| Error::InvalidTerm(format!("blank node {b}: {e}")))
}
