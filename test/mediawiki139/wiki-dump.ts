/**
 * A synthetic MediaWiki export-0.11 dump for importDump.php: `pages` pages (every 20th a
 * template) of `revisions` revisions each. The wikitext links pages to each other, includes
 * templates and puts pages in categories, so the link tables and the job queue get real work.
 */
export function generateDump(pages: number, revisions: number): string {
  const out = [
    '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">',
    '  <siteinfo><sitename>Test Wiki</sitename><dbname>wikidb</dbname><case>first-letter</case><namespaces>'
      + '<namespace key="0" case="first-letter" /><namespace key="10" case="first-letter">Template</namespace>'
      + '<namespace key="14" case="first-letter">Category</namespace></namespaces></siteinfo>',
  ];
  let t = Date.UTC(2020, 0, 1);
  for (let p = 0; p < pages; p++) {
    const title = dumpTitle(p);
    out.push('  <page>', `    <title>${escapeXml(title)}</title>`, `    <ns>${isTemplate(p) ? 10 : 0}</ns>`);
    for (let r = 0; r < revisions; r++) {
      t += 60_000;
      const body = revisionText(p, r, pages);
      out.push(
        '    <revision>',
        `      <timestamp>${new Date(t).toISOString().replace(/\.\d+Z$/, 'Z')}</timestamp>`,
        `      <contributor><username>Importer${r % 3}</username></contributor>`,
        `      <comment>gen rev ${r}</comment>`,
        '      <model>wikitext</model>',
        '      <format>text/x-wiki</format>',
        `      <text xml:space="preserve" bytes="${Buffer.byteLength(body)}">${escapeXml(body)}</text>`,
        '    </revision>',
      );
    }
    out.push('  </page>');
  }
  out.push('</mediawiki>');
  return `${out.join('\n')}\n`;
}

/** The title of page number `p` of the dump, as the wiki shows it. */
export function dumpTitle(p: number): string {
  return isTemplate(p) ? `Template:Box${p}` : `Gen Article ${p}`;
}

function isTemplate(p: number): boolean {
  return p % 20 === 0;
}

function revisionText(p: number, r: number, pages: number): string {
  const title = dumpTitle(p);
  return `'''${title}''' revision ${r}.\n\n== History ==\n`
    + `See [[Gen Article ${(p * 7 + r) % pages}]] and [[Gen Article ${(p * 13 + 1) % pages}]].\n`
    + `{{Box${(p % 5) * 20}}}\n`
    + 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(5 + (p % 20))
    + `\n[[Category:Gen ${p % 10}]]\n`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
