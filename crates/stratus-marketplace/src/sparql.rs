//! The SPARQL endpoint's graph (marketplace.md §2.9, §4.1) on oxigraph's
//! in-memory store, and the rules and limits of a query.
//!
//! The graph has the legacy shape: one named graph per entry,
//! `<http://mp.stratuslab.eu/<id>/<email>/<created>>`, holding the triples
//! of the document without its signature, with the description's subject
//! `http://mp.stratuslab.eu/#<id>` renamed `…#<id>/<email>/<created>`;
//! plus `slterms:tag "latest"` on the latest version of each (identifier,
//! email). Queries see the union of all graphs as their default graph.
//! The subject is renamed in the parsed triples (never by rewriting the
//! XML text, which a byte-level variant such as `&#35;` defeated).
//!
//! The graph follows the store: before each query (and once at start-up)
//! it applies the writes committed since the revision it last saw
//! ([`Store::changes_since`]), whichever server made them.
//!
//! A query must parse (SPARQL 1.1, base `http://mp.stratuslab.eu/`), be a
//! SELECT, and have no `FROM`, `FROM NAMED`, top-level `GRAPH` or any
//! `SERVICE` (which would make the server fetch other URLs): else 400
//! `query not allowed.`. It runs at most `sparql.timeout` and returns at
//! most `sparql.max.results` rows; past either it is stopped.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

use oxigraph::model::{
    GraphName, GraphNameRef, Literal, NamedNode, NamedOrBlankNode, Quad, Term, Variable,
};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{CancellationToken, QueryEvaluationError, QueryResults, SparqlEvaluator};
use oxigraph::store::Store as Graph;
use spargebra::algebra::GraphPattern;

use crate::config::SparqlSettings;
use crate::entry::Key;
use crate::store::Store;

/// The base IRI of documents and queries.
pub const BASE: &str = "http://mp.stratuslab.eu/";
/// `slterms:tag`.
const TAG: &str = "http://mp.stratuslab.eu/slterms#tag";
/// How many changes are applied per store read.
const BATCH: usize = 1000;
/// The most queries evaluated at once (each holds a blocking thread).
const MAX_RUNNING: usize = 4;

/// Why a query has no results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// It does not parse (400, the parser's message).
    Syntax(String),
    /// Not a SELECT, or FROM, FROM NAMED, a top-level GRAPH, SERVICE (400
    /// `query not allowed.`).
    NotAllowed,
    /// It ran past `sparql.timeout`.
    Timeout(Duration),
    /// It has more than `sparql.max.results` rows.
    TooManyResults(usize),
    /// It failed while running (legacy: logged, empty answer).
    Failed(String),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Syntax(message) => f.write_str(message),
            QueryError::NotAllowed => f.write_str("query not allowed."),
            QueryError::Timeout(limit) => write!(
                f,
                "query stopped: it ran longer than {} s (sparql.timeout)",
                limit.as_secs()
            ),
            QueryError::TooManyResults(limit) => write!(
                f,
                "query stopped: more than {limit} results (sparql.max.results); add a LIMIT"
            ),
            QueryError::Failed(message) => write!(f, "query failed: {message}"),
        }
    }
}

/// The rows of a query.
#[derive(Debug, Clone, Default)]
pub struct Solutions {
    /// The projected variables.
    pub variables: Vec<Variable>,
    /// One value per variable per row (`None`: unbound).
    pub rows: Vec<Vec<Option<Term>>>,
}

impl Solutions {
    /// The W3C SPARQL results document in `format` (XML or JSON).
    pub fn serialize(&self, format: QueryResultsFormat) -> Vec<u8> {
        let serializer = QueryResultsSerializer::from_format(format);
        let mut writer = serializer
            .serialize_solutions_to_writer(Vec::new(), self.variables.clone())
            .expect("writing to memory does not fail");
        for row in &self.rows {
            let bindings = self
                .variables
                .iter()
                .zip(row)
                .filter_map(|(v, t)| t.as_ref().map(|t| (v.as_ref(), t.as_ref())));
            writer
                .serialize(bindings)
                .expect("writing to memory does not fail");
        }
        writer.finish().expect("writing to memory does not fail")
    }

    /// The rows as text cells (an IRI or a literal's value; `_:` blank
    /// nodes).
    pub fn cells(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|term| match term {
                        None => String::new(),
                        Some(Term::NamedNode(n)) => n.as_str().to_string(),
                        Some(Term::BlankNode(b)) => format!("_:{}", b.as_str()),
                        Some(Term::Literal(l)) => l.value().to_string(),
                        #[allow(unreachable_patterns)]
                        Some(other) => other.to_string(),
                    })
                    .collect()
            })
            .collect()
    }
}

/// What the graph knows of the store.
#[derive(Debug, Default)]
struct Synced {
    /// The store revision applied last.
    revision: u64,
    /// The versions (`created`) of each (identifier, email) in the graph.
    groups: HashMap<(String, String), BTreeSet<String>>,
}

/// The SPARQL graph and its limits.
pub struct Sparql {
    graph: Graph,
    synced: Mutex<Synced>,
    settings: SparqlSettings,
    running: Arc<Semaphore>,
}

/// A slot to evaluate one query in.
pub type Permit = tokio::sync::OwnedSemaphorePermit;

impl std::fmt::Debug for Sparql {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sparql").finish_non_exhaustive()
    }
}

impl Sparql {
    /// An empty graph with these limits.
    pub fn new(settings: SparqlSettings) -> Result<Sparql, String> {
        Ok(Sparql {
            graph: Graph::new().map_err(|e| e.to_string())?,
            synced: Mutex::new(Synced::default()),
            settings,
            running: Arc::new(Semaphore::new(MAX_RUNNING)),
        })
    }

    /// A slot for one query, or `None` when [`MAX_RUNNING`] run already.
    pub fn permit(&self) -> Option<Permit> {
        Arc::clone(&self.running).try_acquire_owned().ok()
    }

    /// The limits.
    pub fn settings(&self) -> SparqlSettings {
        self.settings
    }

    /// The number of quads in the graph.
    pub fn len(&self) -> usize {
        self.graph.len().unwrap_or(0)
    }

    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Apply every write committed to `store` since the last call.
    pub fn catch_up(&self, store: &dyn Store) -> Result<(), String> {
        let mut synced = self
            .synced
            .lock()
            .map_err(|_| "the SPARQL graph is poisoned")?;
        if store.revision().map_err(|e| e.to_string())? <= synced.revision {
            return Ok(());
        }
        loop {
            let changes = store
                .changes_since(synced.revision, BATCH)
                .map_err(|e| e.to_string())?;
            let Some(last) = changes.last() else {
                return Ok(());
            };
            let revision = last.revision;
            let keys: Vec<Key> = changes.into_iter().map(|c| c.key).collect();
            let documents = store.documents(&keys).map_err(|e| e.to_string())?;
            let mut touched = BTreeSet::new();
            for (key, document) in keys.iter().zip(documents) {
                self.replace(key, &document);
                synced
                    .groups
                    .entry((key.identifier.clone(), key.email.clone()))
                    .or_default()
                    .insert(key.created.clone());
                touched.insert((key.identifier.clone(), key.email.clone()));
            }
            for group in touched {
                self.retag(&group, &synced.groups[&group]);
            }
            synced.revision = revision;
        }
    }

    /// Put `key`'s triples in its graph, replacing what was there.
    fn replace(&self, key: &Key, document: &[u8]) {
        let graph = graph_name(key);
        let _ = self
            .graph
            .clear_graph(GraphNameRef::NamedNode(graph.as_ref()));
        match triples(key, document, &graph) {
            Ok(quads) => {
                if let Err(error) = self.graph.extend(quads) {
                    tracing::error!("SPARQL graph: {key}: {error}");
                }
            }
            Err(error) => tracing::error!("SPARQL graph: {key}: {error}"),
        }
    }

    /// Move `slterms:tag "latest"` to the newest version of a group.
    fn retag(&self, (identifier, email): &(String, String), versions: &BTreeSet<String>) {
        let tag = NamedNode::new_unchecked(TAG);
        let latest = Literal::new_simple_literal("latest");
        for created in versions {
            let key = Key {
                identifier: identifier.clone(),
                email: email.clone(),
                created: created.clone(),
            };
            let quad = Quad::new(
                subject(&key),
                tag.clone(),
                latest.clone(),
                GraphName::NamedNode(graph_name(&key)),
            );
            let newest = versions.last() == Some(created);
            let result = if newest {
                self.graph.insert(&quad)
            } else {
                self.graph.remove(&quad)
            };
            if let Err(error) = result {
                tracing::error!("SPARQL graph: {key}: {error}");
            }
        }
    }

    /// Run `text` under the limits; `cancel` stops it from elsewhere.
    pub fn run(&self, text: &str, cancel: &CancellationToken) -> Result<Solutions, QueryError> {
        let query = check(text)?;
        let started = Instant::now();
        let mut prepared = SparqlEvaluator::new()
            .with_cancellation_token(cancel.clone())
            .for_query(query);
        prepared.dataset_mut().set_default_graph_as_union();
        let results = prepared
            .on_store(&self.graph)
            .execute()
            .map_err(|e| self.failure(e, started))?;
        let QueryResults::Solutions(solutions) = results else {
            return Err(QueryError::NotAllowed);
        };
        let variables = solutions.variables().to_vec();
        let mut rows = Vec::new();
        for solution in solutions {
            let solution = solution.map_err(|e| self.failure(e, started))?;
            if rows.len() == self.settings.max_results {
                return Err(QueryError::TooManyResults(self.settings.max_results));
            }
            if started.elapsed() > self.settings.timeout {
                return Err(QueryError::Timeout(self.settings.timeout));
            }
            rows.push(variables.iter().map(|v| solution.get(v).cloned()).collect());
        }
        Ok(Solutions { variables, rows })
    }

    fn failure(&self, error: QueryEvaluationError, started: Instant) -> QueryError {
        match error {
            QueryEvaluationError::Cancelled => QueryError::Timeout(self.settings.timeout),
            _ if started.elapsed() > self.settings.timeout => {
                QueryError::Timeout(self.settings.timeout)
            }
            other => QueryError::Failed(other.to_string()),
        }
    }
}

/// Parse `text` and apply the rules of §2.9.
pub fn check(text: &str) -> Result<spargebra::Query, QueryError> {
    let query = spargebra::SparqlParser::new()
        .with_base_iri(BASE)
        .expect("the base IRI is valid")
        .parse_query(text)
        .map_err(|e| QueryError::Syntax(e.to_string()))?;
    match &query {
        spargebra::Query::Select {
            dataset: None,
            pattern,
            ..
        } if !top_level_graph(pattern) && !has_service(pattern) => Ok(query),
        _ => Err(QueryError::NotAllowed),
    }
}

/// Whether the WHERE group of a SELECT has a `GRAPH` among its own
/// elements (below the solution modifiers, not nested in another pattern
/// or in a subquery).
fn top_level_graph(pattern: &GraphPattern) -> bool {
    match pattern {
        GraphPattern::Distinct { inner }
        | GraphPattern::Reduced { inner }
        | GraphPattern::Slice { inner, .. } => top_level_graph(inner),
        // The query's own projection; a Project below it is a subquery.
        GraphPattern::Project { inner, .. } => below_projection(inner),
        other => in_group(other),
    }
}

fn below_projection(pattern: &GraphPattern) -> bool {
    match pattern {
        GraphPattern::OrderBy { inner, .. } => below_projection(inner),
        other => in_group(other),
    }
}

fn in_group(pattern: &GraphPattern) -> bool {
    match pattern {
        GraphPattern::Group { inner, .. }
        | GraphPattern::Filter { inner, .. }
        | GraphPattern::Extend { inner, .. } => in_group(inner),
        GraphPattern::Join { left, right } => in_group(left) || in_group(right),
        GraphPattern::LeftJoin { left, .. } | GraphPattern::Minus { left, .. } => in_group(left),
        GraphPattern::Graph { .. } => true,
        _ => false,
    }
}

/// Whether a `SERVICE` appears anywhere.
fn has_service(pattern: &GraphPattern) -> bool {
    match pattern {
        GraphPattern::Service { .. } => true,
        GraphPattern::Project { inner, .. }
        | GraphPattern::Distinct { inner }
        | GraphPattern::Reduced { inner }
        | GraphPattern::Slice { inner, .. }
        | GraphPattern::OrderBy { inner, .. }
        | GraphPattern::Group { inner, .. }
        | GraphPattern::Filter { inner, .. }
        | GraphPattern::Extend { inner, .. }
        | GraphPattern::Graph { inner, .. } => has_service(inner),
        GraphPattern::Join { left, right }
        | GraphPattern::LeftJoin { left, right, .. }
        | GraphPattern::Lateral { left, right }
        | GraphPattern::Union { left, right }
        | GraphPattern::Minus { left, right } => has_service(left) || has_service(right),
        _ => false,
    }
}

/// `http://mp.stratuslab.eu/<id>/<email>/<created>`.
fn graph_name(key: &Key) -> NamedNode {
    NamedNode::new_unchecked(format!("{BASE}{}", path(key)))
}

/// `http://mp.stratuslab.eu/#<id>/<email>/<created>`.
fn subject(key: &Key) -> NamedNode {
    NamedNode::new_unchecked(format!("{BASE}#{}", path(key)))
}

fn path(key: &Key) -> String {
    use crate::http::encode_segment;
    format!(
        "{}/{}/{}",
        encode_segment(&key.identifier),
        encode_segment(&key.email),
        encode_segment(&key.created)
    )
}

/// The quads of one entry: the document's triples (signature cut out) in
/// the entry's graph, the description renamed.
fn triples(key: &Key, document: &[u8], graph: &NamedNode) -> Result<Vec<Quad>, String> {
    let text = crate::document::without_signature(document).map_err(|e| e.to_string())?;
    let described = format!("{BASE}#{}", key.identifier);
    let renamed = subject(key);
    let rename = |node: NamedNode| {
        if node.as_str() == described {
            renamed.clone()
        } else {
            node
        }
    };
    let parser = oxrdfxml::RdfXmlParser::new()
        .with_base_iri(BASE)
        .expect("the base IRI is valid");
    let mut quads = Vec::new();
    for triple in parser.for_slice(text.as_bytes()) {
        let triple = triple.map_err(|e| e.to_string())?;
        let subject = match triple.subject {
            NamedOrBlankNode::NamedNode(n) => NamedOrBlankNode::NamedNode(rename(n)),
            other => other,
        };
        let object = match triple.object {
            Term::NamedNode(n) => Term::NamedNode(rename(n)),
            other => other,
        };
        quads.push(Quad::new(
            subject,
            triple.predicate,
            object,
            GraphName::NamedNode(graph.clone()),
        ));
    }
    Ok(quads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_selects_are_allowed() {
        let q = "select ?i where { ?x <http://purl.org/dc/terms/identifier> ?i }";
        assert!(check(q).is_ok());
        for refused in [
            "select ?i from <http://x/> where { ?x ?p ?i }",
            "select ?i from named <http://x/> where { ?x ?p ?i }",
            "select ?i where { graph <http://x/> { ?x ?p ?i } . }",
            "select ?i where { service <http://x/> { ?x ?p ?i } }",
            "ask { ?x ?p ?o }",
            "construct { ?x ?p ?o } where { ?x ?p ?o }",
        ] {
            assert_eq!(
                check(refused).unwrap_err(),
                QueryError::NotAllowed,
                "{refused}"
            );
        }
        // A GRAPH nested in another pattern (legacy did not see those) is
        // allowed; one only wrapped in braces is not, since the algebra
        // does not keep the braces.
        assert!(check("select ?g where { ?x ?p ?o optional { graph ?g { ?x ?p ?o } } }").is_ok());
        assert!(check("select ?g where { { ?x ?p ?o } union { graph ?g { ?x ?p ?o } } }").is_ok());
        assert_eq!(
            check("select ?g where { { graph ?g { ?x ?p ?o } } }").unwrap_err(),
            QueryError::NotAllowed
        );
        // In a subquery, too.
        assert!(check(
            "select ?g where { { select ?g (count(*) as ?n) where { graph ?g { ?s ?p ?o } } group by ?g } }"
        )
        .is_ok());
        assert_eq!(
            check("select (count(*) as ?n) where { graph ?g { ?s ?p ?o } } order by ?n limit 3")
                .unwrap_err(),
            QueryError::NotAllowed
        );
        assert!(matches!(check("seect ?x"), Err(QueryError::Syntax(_))));
    }
}
