/**
 * The public API is documented: every export of the two entry points (`metagrad`,
 * `metagrad/node`) and every public member of an exported class carries a TSDoc comment, read
 * with the TypeScript compiler the build already uses.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { expect, test } from 'vitest';

const root = join(__dirname, '..');
const entries = [join(root, 'src', 'index.ts'), join(root, 'src', 'node.ts')];

/** `entry: name` for every undocumented export and public class member reachable from the entry points. */
function undocumented(): string[] {
  const program = ts.createProgram(entries, { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, noEmit: true });
  const checker = program.getTypeChecker();
  const doc = (s: ts.Symbol): string => ts.displayPartsToString(s.getDocumentationComment(checker)).trim();
  const missing: string[] = [];
  for (const entry of entries) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
    for (const exported of checker.getExportsOfModule(module)) {
      const sym = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const where = `${entry.slice(root.length + 1)}: ${exported.name}`;
      if (doc(sym) === '') missing.push(where);
      if (!(sym.flags & ts.SymbolFlags.Class)) continue;
      for (const member of checker.getDeclaredTypeOfSymbol(sym).getProperties()) {
        const decl = member.valueDeclaration;
        if (decl === undefined || ts.getCombinedModifierFlags(decl as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
        if (doc(member) === '') missing.push(`${where}.${member.name}`);
      }
    }
  }
  return missing;
}

test('every public export and public class member has a TSDoc comment', () => {
  expect(undocumented()).toEqual([]);
}, 60_000);
