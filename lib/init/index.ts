/** `bpf-compile init`: start a project from a template. */
export { initProject, projectNameOf, substitute, type InitOptions, type InitResult } from './init.js';
export { listTemplates, templateFiles, templatesDir, TEMPLATE_META, type TemplateInfo } from './templates.js';
